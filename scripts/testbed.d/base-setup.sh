#!/bin/bash
# Runs once inside the freshly debootstrapped base tree (chroot). Everything here is shared by
# all test hosts; per-host details (hostname, host key, client key, passwords) are written by
# scripts/testbed when a host is created.
set -euo pipefail

# deploy: passwordless sudo. ops: sudo asks for the password; ops may also log in by password.
for user in deploy ops; do
  id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  # "*" rather than useradd's "!": sshd without PAM refuses even key logins to locked accounts.
  usermod --password '*' "$user"
done
printf 'deploy ALL=(ALL:ALL) NOPASSWD: ALL\n' >/etc/sudoers.d/deploy
printf 'ops ALL=(ALL:ALL) ALL\n' >/etc/sudoers.d/ops
# The first-use lecture would only add noise to prompts that tests match.
printf 'Defaults lecture=never\n' >/etc/sudoers.d/testbed
chmod 0440 /etc/sudoers.d/deploy /etc/sudoers.d/ops /etc/sudoers.d/testbed
visudo -c >/dev/null

for home in /root /home/deploy /home/ops; do
  install -d -m 0700 "$home/.ssh"
done
chown deploy:deploy /home/deploy/.ssh
chown ops:ops /home/ops/.ssh

# The whole sshd config, so the Match block is last and nothing in Debian's default overrides it.
# ed25519 only: libssh2 1.10 cannot use RSA host keys with OpenSSH 9.
rm -f /etc/ssh/ssh_host_*
cat >/etc/ssh/sshd_config <<'CONF'
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
Match User ops
  PasswordAuthentication yes
CONF
rm -f /etc/ssh/sshd_config.d/*.conf

# The hosts have no route out and no DNS; names resolve from /etc/hosts only.
: >/etc/resolv.conf
rm -f /etc/apt/sources.list.d/*
printf 'Acquire::Languages "none";\n' >/etc/apt/apt.conf.d/99testbed
rm -f /etc/motd

# Nobody reads documentation on a test host; this keeps the cached tree smaller.
rm -rf /usr/share/doc/* /usr/share/man/* /usr/share/info/*

apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log /var/log/apt/*
