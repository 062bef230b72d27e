#!/bin/bash
# PID 1 of one test host. Started by scripts/testbed as
#   ip netns exec NS unshare --mount --uts --pid --fork --kill-child node-init.sh ROOT NAME
# It gives the host its own hostname, /proc, /sys, /dev, /run and /tmp (all in the host's private
# mount namespace, so they vanish with it), then becomes the host's init inside ROOT.
# shellcheck disable=SC2016 # the program for the chroot is single-quoted on purpose
set -euo pipefail

root=$1
name=$2

hostname "$name"
# Nothing mounted here may leak back into the machine's mount table.
mount --make-rprivate /

mount -t proc proc "$root/proc"
# Mounted after entering the netns, so /sys/class/net shows this host's interfaces.
mount -t sysfs -o ro sysfs "$root/sys"

mount -t tmpfs -o mode=0755,nosuid tmpfs "$root/dev"
for dev in null zero full random urandom tty; do
  touch "$root/dev/$dev"
  mount --bind "/dev/$dev" "$root/dev/$dev"
done
mkdir "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"

# Inside the host: start sshd ourselves (it is what the tests need first), then the sysv start
# scripts packages enabled (e.g. the docker stand-in), then stay as init and reap orphans.
exec chroot "$root" /bin/bash -c '
  mkdir -p /run/sshd /run/lock
  /usr/sbin/sshd -E /var/log/sshd.log
  for script in /etc/rc2.d/S*; do
    case ${script##*/} in
      S??ssh | S??procps) ;;
      *) [ -x "$script" ] && "$script" start >>/var/log/boot.log 2>&1 || true ;;
    esac
  done
  while :; do sleep 3600 & wait $! || true; done
'
