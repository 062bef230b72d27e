/// Builds a playbook the way people write them, the same bytes on every run: many plays, each
/// with vars and an anchor reused through merge keys, and tasks using apt, copy with a literal
/// block, template, lineinfile, user with a loop, service handlers and `when` conditions.
enum PlaybookGenerator {
  /// Plays are appended until the text is at least `size` bytes long.
  static func playbook(bytes size: Int) -> String {
    var out = "# Generated for the YAML throughput benchmark.\n---\n"
    out.reserveCapacity(size + 4096)
    var n = 0
    while out.utf8.count < size {
      out += play(n)
      n += 1
    }
    return out
  }

  static let packages = ["nginx", "curl", "python3-apt", "rsync", "htop", "git", "jq", "unzip"]
  static let users = ["alice", "bob", "carol", "dave", "erin", "frank"]

  static func play(_ n: Int) -> String {
    let tier = ["web", "db", "cache", "worker"][n % 4]
    let port = 8000 + n % 1000
    let pkgs = (0..<3).map { packages[(n + $0 * 3) % packages.count] }
    let user1 = users[n % users.count]
    let user2 = users[(n + 1) % users.count]
    return """
      - name: configure \(tier) tier, site \(n)
        hosts: \(tier)_\(n % 50)
        become: true
        gather_facts: yes
        vars:
          common_\(n): &common_\(n)
            owner: root
            group: root
            mode: "0644"
          http_port: \(port)
          workers: \(n % 16 + 1)
          ratio: \(n % 10).5
          enable_tls: \(n % 2 == 0 ? "yes" : "no")
          packages: [\(pkgs.joined(separator: ", "))]
        tasks:
          - name: install packages
            apt:
              name: "{{ item }}"
              state: present
              update_cache: yes
              cache_valid_time: 3600
            loop: "{{ packages }}"
            when: ansible_os_family == "Debian"
          - name: write site config
            copy:
              <<: *common_\(n)
              dest: /etc/nginx/sites-available/site\(n).conf
              content: |
                server {
                    listen \(port);
                    server_name site\(n).example.com;
                    root /srv/site\(n)/public;
                    location / {
                        try_files $uri $uri/ =404;
                    }
                    access_log /var/log/nginx/site\(n).access.log;
                }
            notify: reload nginx
          - name: render application settings
            template:
              <<: *common_\(n)
              src: templates/app.conf.j2
              dest: /etc/app/app\(n).conf
              mode: "0640"
            notify: restart app
          - name: disable root login over ssh
            lineinfile:
              path: /etc/ssh/sshd_config
              regexp: '^#?PermitRootLogin'
              line: PermitRootLogin no
              backup: yes
            when:
              - ansible_distribution == "Ubuntu"
              - ansible_distribution_major_version | int >= 20
          - name: create users
            user: name={{ item.name }} uid={{ item.uid }} shell=/bin/bash
            loop:
              - { name: \(user1), uid: \(1000 + n % 500) }
              - { name: \(user2), uid: \(1500 + n % 500) }
          - name: open the firewall
            command: ufw allow \(port)/tcp
            changed_when: false
            when: enable_tls and workers > 2
        handlers:
          - name: reload nginx
            service: { name: nginx, state: reloaded }
          - name: restart app
            service:
              name: app
              state: restarted

      """
  }
}
