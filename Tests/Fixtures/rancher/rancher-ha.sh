#!/bin/bash
# Test copy of the Rancher 1.1 HA installer that the UI generates ("rancher-ha.sh"), with the
# real script's shape: same files, same container, same re-run behaviour (server.conf rewritten,
# encryption.key rotated, rancher-ha force-recreated). The values are test values; the test hosts'
# stand-in docker makes `rancher-ha` run and answer pong on :18080/ping.
# shellcheck disable=SC2006,SC2046,SC2086 # kept as the generated script writes it
set -e

umask 077

IMAGE=$1
if [ "$IMAGE" = "" ]; then
    IMAGE=rancher/server
fi

mkdir -p /var/lib/rancher/etc/server
mkdir -p /var/lib/rancher/etc/ssl
mkdir -p /var/lib/rancher/bin

echo Creating /var/lib/rancher/etc/server.conf
cat > /var/lib/rancher/etc/server.conf << EOF2
export CATTLE_HA_CLUSTER_SIZE=3
export CATTLE_HA_HOST_REGISTRATION_URL=https://rancher.test.invalid
export CATTLE_HA_CONTAINER_PREFIX=rancher-ha-

export CATTLE_DB_CATTLE_MYSQL_HOST=10.231.0.16
export CATTLE_DB_CATTLE_MYSQL_PORT=3306
export CATTLE_DB_CATTLE_MYSQL_NAME=cattle
export CATTLE_DB_CATTLE_USERNAME=cattle
export CATTLE_DB_CATTLE_PASSWORD=v2:{4fO1Gc1eKk2rGdTfX2qN0A==}

export CATTLE_HA_PORT_REDIS=6379
export CATTLE_HA_PORT_SWARM=2376
export CATTLE_HA_PORT_HTTP=80
export CATTLE_HA_PORT_HTTPS=443
export CATTLE_HA_PORT_PP_HTTP=81
export CATTLE_HA_PORT_PP_HTTPS=444
export CATTLE_HA_PORT_ZK_CLIENT=2181
export CATTLE_HA_PORT_ZK_QUORUM=2888
export CATTLE_HA_PORT_ZK_LEADER=3888

# Uncomment below to force HA enabled and not require one to set it in the UI
# export CATTLE_HA_ENABLED=true
EOF2

echo Creating /var/lib/rancher/etc/server/encryption.key
if [ -e /var/lib/rancher/etc/server/encryption.key ]; then
    mv /var/lib/rancher/etc/server/encryption.key /var/lib/rancher/etc/server/encryption.key.`date '+%s'`
fi
cat > /var/lib/rancher/etc/server/encryption.key << EOF2
Xk3q9vTt0cB7yH2mN5pL8wR1sD4fG6jZ
EOF2

echo Creating /var/lib/rancher/bin/rancher-ha-start.sh
cat > /var/lib/rancher/bin/rancher-ha-start.sh << "EOF2"
#!/bin/sh
set -e

IMAGE=$1
if [ "$IMAGE" = "" ]; then
    echo Usage: $0 DOCKER_IMAGE
    exit 1
fi

docker rm -fv rancher-ha >/dev/null 2>&1 || true
ID=`docker run --restart=always -d -v /var/run/docker.sock:/var/run/docker.sock --name rancher-ha --net host --privileged -v /var/lib/rancher/etc:/var/lib/rancher/etc $IMAGE ha`

echo Started container rancher-ha $ID
echo Run the below to see the logs
echo
echo docker logs -f rancher-ha
EOF2

chmod +x /var/lib/rancher/bin/rancher-ha-start.sh

echo Running: /var/lib/rancher/bin/rancher-ha-start.sh $IMAGE
echo To re-run please execute: /var/lib/rancher/bin/rancher-ha-start.sh $IMAGE
exec /var/lib/rancher/bin/rancher-ha-start.sh $IMAGE
