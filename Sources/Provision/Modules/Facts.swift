import Foundation
import Inventory

/// Facts about a host gathered with one shell command, in the shape of Ansible's `setup` module.
///
/// `script` is a POSIX sh script that needs no Python: it prints the raw material (a few files from
/// /etc and /proc, `ip` output, sysfs attributes, `date`, `env`…) in sections marked `@@@FACTS:name`,
/// and `parse` turns that output into the `ansible_facts` dictionary as ansible-core 2.17 reports it
/// (keys without the `ansible_` prefix, sorted as `setup` prints them). Where ansible-core runs a
/// command per item (`ip addr show dev X` per interface, `statvfs` per mount), the script runs one
/// command for all of them, so it stays around 30 ms on a small host.
///
/// Works on Debian and Ubuntu back to 14.04 (coreutils 8.21, iproute2 3.12); without `ip` it falls
/// back to `ifconfig -a` or /proc/net (where ansible-core reports no network facts at all). Facts
/// ansible-core reads through Python only (`python`, `selinux`, `devices`, `lvm`, `dns`, ethtool
/// features, `loadavg`'s full precision…) are left out.
public enum Facts {
  /// The gathering script; run it with `sh -s` (or `sh -c`) as the connecting user.
  public static let script: String = ##"""
    M=@@@FACTS:
    printf '%s\n' "${M}env"
    env -0 2>/dev/null || env
    printf '\n%s\n' "${M}kv"
    PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin
    LC_ALL=C
    export LC_ALL
    unset CDPATH
    rd() { v=; { IFS= read -r v <"$1"; } 2>/dev/null; [ -n "$v" ]; }
    kv() { printf '%s=%s\n' "$1" "$2"; }
    has() { command -v "$1" >/dev/null 2>&1; }
    rd /proc/sys/kernel/ostype || v=$(uname -s); kv system "$v"
    rd /proc/sys/kernel/osrelease || v=$(uname -r); kv kernel "$v"
    rd /proc/sys/kernel/version || v=$(uname -v); kv kernel_version "$v"
    rd /proc/sys/kernel/hostname || v=$(uname -n); kv nodename "$v"; h=$v
    rd /proc/sys/kernel/arch || v=$(uname -m); kv machine "$v"
    # socket.getfqdn(): reverse lookup of the name's first address (getent pads with spaces)
    a=$(getent ahosts "$h" 2>/dev/null) && kv fqdn "$(getent hosts "${a%% *}" 2>/dev/null)"
    kv long_bit "$(getconf LONG_BIT 2>/dev/null)"
    d=$(date '+%Y|%m|%A|%w|%W|%d|%H|%M|%S|%s|%N|%Z|%z')
    kv date "$d"
    t=${d#*|*|*|*|*|*|*|*|*|}; t=${t%%|*}
    case $d in *'|UTC|+0000') ;; *)
      case $t in *[!0-9]*|'') ;; *)
        t=$((t / 31557600 * 31557600))
        printf '@%s\n' "$t" "$((t + 15778800))" | date -f - '+tz=%z %Z' 2>/dev/null ;;
      esac ;;
    esac
    u=${LOGNAME:-${USER:-${LNAME:-$USERNAME}}}
    [ -n "$u" ] || u=$(id -un 2>/dev/null)
    kv user "$u"
    v=$(getent passwd "$u" 2>/dev/null) || v=$(getent passwd "$(id -u)" 2>/dev/null) || v=$(grep "^$u:" /etc/passwd 2>/dev/null)
    kv pw "$v"
    kv pid "$$"
    rd /proc/uptime && kv uptime "$v"
    rd /var/lib/dbus/machine-id || rd /etc/machine-id; kv machine_id "$v"
    rd /proc/sys/crypto/fips_enabled && kv fips "$v"
    [ -d /sys/kernel/security/apparmor ] && kv apparmor 1
    rd /proc/1/comm && kv proc1 "$v"
    [ -L /sbin/init ] && [ ! -e /run/systemd/system/ ] && kv sbin_init "$(readlink /sbin/init)"
    has systemctl && kv systemctl 1
    for p in /run/systemd/system/ /dev/.run/systemd/ /dev/.systemd/; do [ -e $p ] && kv systemd_canary "$p"; done
    has initctl && kv initctl 1
    for p in /etc/init/ /sbin/openrc /etc/init.d/; do [ -e $p ] && kv exists "$p"; done
    for p in /usr/bin/rpm-ostree /usr/bin/yum /usr/bin/dnf-3 /usr/bin/dnf5 /usr/bin/apt-get /usr/bin/zypper \
      /usr/sbin/urpmi /usr/bin/pacman /bin/opkg /usr/pkg/bin/pkgin /opt/local/bin/pkgin /opt/tools/bin/pkgin \
      /opt/local/bin/port /usr/local/bin/brew /opt/homebrew/bin/brew /sbin/apk /usr/sbin/pkg /usr/sbin/swlist \
      /usr/bin/emerge /usr/sbin/pkgadd /usr/bin/pkg /usr/bin/xbps-install /usr/local/sbin/pkg /usr/bin/swupd \
      /usr/sbin/sorcery /usr/bin/installp /run/ostree-booted /usr/bin/microdnf; do
      [ -e $p ] && kv pkg "$p"
    done
    [ -e /usr/bin/dnf ] && kv dnf "$(readlink -f /usr/bin/dnf)"
    xen=
    if [ -e /proc/xen ]; then xen=1; elif rd /sys/hypervisor/type && [ "$v" = xen ]; then xen=1; fi
    [ -n "$xen" ] && kv xen 1
    mtab=/etc/mtab; [ -e $mtab ] || mtab=/proc/mounts
    f=
    for p in /etc/os-release /usr/lib/os-release /etc/lsb-release /etc/debian_version /etc/redhat-release \
      /etc/centos-release /etc/oracle-release /etc/alpine-release /etc/arch-release /etc/SuSE-release \
      /etc/gentoo-release /proc/meminfo /proc/cpuinfo /proc/$$/status $mtab /proc/self/mountinfo; do
      [ -r $p ] && f="$f $p"
    done
    exec 3>&1
    # shellcheck disable=SC2086
    m=$(awk -v M="$M" -v X="$xen" -v T="$mtab" '
      FNR == 1 { print M "file " FILENAME }
      FILENAME == "/proc/cpuinfo" && !/^(model name|Processor|vendor_id|cpu|Vendor|processor|physical id|core id|cpu cores|siblings|# processors|max thread id|ncpus active)[ \t]*:/ && !(X && /^flags[ \t]*:/) { next }
      FILENAME ~ /^\/proc\/[0-9]+\/status$/ && !/^(Uid|Gid|Cpus_allowed_list):/ { next }
      FILENAME == "/proc/self/mountinfo" { if ($4 != "/") print $5, $4; next }
      FILENAME == T && ($1 ~ /^[\/\\]/ || $1 ~ /:\//) && $3 != "none" { print $2 > "/dev/stderr" }
      { print }' $f 2>&1 >&3)
    exec 3>&-
    printf '%s\n' "${M}mounts"
    if [ -n "$m" ]; then
      o=$IFS; IFS='
    '
      set -f; set --
      for p in $m; do
        case $p in *\\*) p=$(printf "$(printf '%s' "$p" | sed 's/%/%%/g')") ;; esac
        set -- "$@" "$p"
      done
      IFS=$o; set +f
      to=; has timeout && to="timeout 10"
      $to stat -f -c '%S %s %b %a %c %d %n' "$@" 2>/dev/null
      printf '%s\n' "${M}uuids"
      ls -l /dev/disk/by-uuid /dev/mapper 2>/dev/null
    fi
    if has ip; then
      # One ip process for the three queries; separate ones if this ip has no -batch.
      o=$(ip -force -batch - 2>/dev/null <<'EOF'
    route get 8.8.8.8
    route get 2404:6800:400a:800::1012
    addr show
    EOF
    )
      if [ -n "$o" ]; then
        printf '%s\n' "${M}ipbatch" "$o"
      else
        printf '%s\n' "${M}route4"
        ip -4 route get 8.8.8.8 2>/dev/null
        printf '%s\n' "${M}route6"
        ip -6 route get 2404:6800:400a:800::1012 2>/dev/null
        printf '%s\n' "${M}ipaddr"
        ip addr show 2>/dev/null
      fi
    else
      if has ifconfig; then
        printf '%s\n' "${M}ifconfig"
        ifconfig -a 2>/dev/null
      else
        printf '%s\n' "${M}fib_trie"
        cat /proc/net/fib_trie 2>/dev/null
      fi
      printf '%s\n' "${M}proc_route"
      cat /proc/net/route 2>/dev/null
      printf '%s\n' "${M}proc_route6"
      awk '$1 == "00000000000000000000000000000000" && $2 == "00"' /proc/net/ipv6_route 2>/dev/null
      printf '%s\n' "${M}if_inet6"
      cat /proc/net/if_inet6 2>/dev/null
    fi
    n=$(ls -U /sys/class/net 2>/dev/null) || n=
    [ -n "$n" ] || for p in /sys/class/net/*; do [ -e "$p" ] && n="$n ${p##*/}"; done
    for i in $n; do
      p=/sys/class/net/$i
      [ -d $p ] || continue
      printf '%s\n' "${M}if $i"
      for k in address mtu operstate type speed flags bridge/bridge_id bridge/stp_state bonding/slaves bonding/mode \
        bonding/miimon bonding/lacp_rate bonding/primary bonding/all_slaves_active bonding_slave/perm_hwaddr; do
        [ -e $p/$k ] && { rd $p/$k; kv $k "$v"; }
      done
      [ -e $p/bridge ] && kv bridge 1
      [ -e $p/bonding ] && kv bonding 1
      # shellcheck disable=SC2045 # readdir order, as ansible-core globs
      [ -d "$p/brif" ] && for b in $(ls -U "$p/brif"); do kv brif "$b"; done
      if [ -e $p/device ] && cd -P $p/device 2>/dev/null; then
        kv pciid "${PWD##*/}"
        cd -P driver/module 2>/dev/null && kv module "${PWD##*/}"
        cd /
      fi
    done
    printf '%s\n' "${M}end"
    """##

  /// Parses `script`'s output into the `ansible_facts` dictionary. Missing sections just leave
  /// their facts out; nothing here throws.
  public static func parse(_ output: String) -> OrderedDict {
    let raw = Raw(output)
    var facts = OrderedDict()
    platform(raw, into: &facts)
    distribution(raw, into: &facts)
    dateTime(raw, into: &facts)
    environment(raw, into: &facts)
    user(raw, into: &facts)
    memory(raw, into: &facts)
    cpu(raw, into: &facts)
    mounts(raw, into: &facts)
    network(raw, into: &facts)
    system(raw, into: &facts)
    return sortedKeys(facts)
  }

  // MARK: - Raw sections

  static let marker = "@@@FACTS:"

  /// The script's output cut into its sections.
  struct Raw {
    var sections: [String: [String]] = [:]
    /// `if NAME` sections in the order the script printed them (the kernel's /sys/class/net order).
    var interfaceOrder: [String] = []
    var kv: [String: [String]] = [:]

    init(_ output: String) {
      var name: String?
      var lines: [String] = []
      func flush() {
        guard let name else { return }
        if sections[name] == nil { sections[name] = lines }
        if name.hasPrefix("if ") { interfaceOrder.append(String(name.dropFirst(3))) }
      }
      // "\r\n" is one Character in Swift: split on it too, in case the output went through a tty.
      for line in output.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
        if line.hasPrefix(Facts.marker) {
          flush()
          name = String(line.dropFirst(Facts.marker.count))
          lines = []
        } else if name != nil {
          lines.append(String(line))
        }
      }
      flush()
      if let batch = sections["ipbatch"] {
        // `ip -batch` output: the two `route get` answers (if any), then `addr show`.
        var rest = batch[...]
        for (query, section) in [("8.8.8.8 ", "route4"), ("2404:6800:400a:800::1012 ", "route6")] {
          guard let i = rest.firstIndex(where: { $0.hasPrefix(query) }) else { continue }
          sections[section] = [rest[i]]
          rest = rest[(i + 1)...]
        }
        sections["ipaddr"] = Array(rest.drop(while: { $0.first?.isNumber != true }))
      }
      for line in sections["kv"] ?? [] {
        guard let eq = line.firstIndex(of: "=") else { continue }
        kv[String(line[..<eq]), default: []].append(String(line[line.index(after: eq)...]))
      }
    }

    subscript(_ key: String) -> String? {
      guard let v = kv[key]?.first, !v.isEmpty else { return nil }
      return v
    }

    func file(_ path: String) -> [String]? { sections["file " + path] }

    /// The first section whose name matches.
    func section(where match: (String) -> Bool) -> [String]? {
      sections.keys.sorted().first(where: match).flatMap { sections[$0] }
    }
  }

  // MARK: - platform (system, kernel, hostname, architecture)

  static func platform(_ raw: Raw, into facts: inout OrderedDict) {
    let system = raw["system"] ?? "Linux"
    facts["system"] = .string(system)
    if let v = raw["kernel"] { facts["kernel"] = .string(v) }
    if let v = raw["kernel_version"] { facts["kernel_version"] = .string(v) }
    let machine = raw["machine"] ?? ""
    facts["machine"] = .string(machine)
    let nodename = raw["nodename"] ?? ""
    facts["nodename"] = .string(nodename)
    facts["hostname"] = .string(String(nodename.split(separator: ".", omittingEmptySubsequences: false).first ?? ""))
    // Python's socket.getfqdn(): the reverse lookup of the name's first address; the first of
    // its names with a dot, else its canonical name.
    var fqdn = nodename
    if let hosts = raw["fqdn"]?.split(whereSeparator: { $0 == " " || $0 == "\t" }), hosts.count >= 2 {
      fqdn = String(hosts.dropFirst().first(where: { $0.contains(".") }) ?? hosts[1])
    }
    facts["fqdn"] = .string(fqdn)
    facts["domain"] = .string(fqdn.split(separator: ".", omittingEmptySubsequences: false).dropFirst().joined(separator: "."))
    let bits = raw["long_bit"]
    if let bits { facts["userspace_bits"] = .string(bits) }
    let i86 = machine.range(of: #"i([3456]86|86pc)"#, options: .regularExpression) != nil
    if machine == "x86_64" || i86 {
      facts["architecture"] = .string(machine == "x86_64" ? machine : "i386")
      if bits == "64" { facts["userspace_architecture"] = "x86_64" }
      if bits == "32" { facts["userspace_architecture"] = "i386" }
    } else {
      facts["architecture"] = .string(machine)
    }
    if let id = raw["machine_id"] { facts["machine_id"] = .string(id) }
  }

  // MARK: - distribution

  static let osFamily: [String: String] = {
    let map: [String: [String]] = [
      "RedHat": [
        "RedHat", "RHEL", "Fedora", "CentOS", "Scientific", "SLC", "Ascendos", "CloudLinux", "PSBM",
        "OracleLinux", "OVS", "OEL", "Amazon", "Amzn", "Virtuozzo", "XenServer", "Alibaba", "EulerOS",
        "openEuler", "AlmaLinux", "Rocky", "TencentOS", "EuroLinux", "Kylin Linux Advanced Server", "MIRACLE",
      ],
      "Debian": [
        "Debian", "Ubuntu", "Raspbian", "Neon", "KDE neon", "Linux Mint", "SteamOS", "Devuan", "Kali",
        "Cumulus Linux", "Pop!_OS", "Parrot", "Pardus GNU/Linux", "Uos", "Deepin", "OSMC",
      ],
      "Suse": [
        "SuSE", "SLES", "SLED", "openSUSE", "openSUSE Tumbleweed", "SLES_SAP", "SUSE_LINUX", "openSUSE Leap",
        "ALP-Dolomite",
      ],
      "Archlinux": ["Archlinux", "Antergos", "Manjaro"], "Mandrake": ["Mandrake", "Mandriva"],
      "Slackware": ["Slackware"], "Altlinux": ["Altlinux"], "SMGL": ["SMGL"], "Gentoo": ["Gentoo", "Funtoo"],
      "Alpine": ["Alpine"], "ClearLinux": ["Clear Linux OS", "Clear Linux Mix"],
    ]
    var out: [String: String] = [:]
    for (family, names) in map { for n in names { out[n] = family } }
    return out
  }()

  /// `KEY=value` lines with shell quotes removed, as the `distro` package reads os-release.
  static func shellAssignments(_ lines: [String]) -> [String: String] {
    var out: [String: String] = [:]
    for line in lines {
      let t = line.trimmingCharacters(in: .whitespaces)
      guard !t.hasPrefix("#"), let eq = t.firstIndex(of: "=") else { continue }
      var v = String(t[t.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
      if v.count >= 2, let f = v.first, f == "\"" || f == "'", v.last == f { v = String(v.dropFirst().dropLast()) }
      out[String(t[..<eq])] = v.replacingOccurrences(of: "\\\"", with: "\"")
    }
    return out
  }

  /// The version number in a "pretty" name such as "Ubuntu 14.04.6 LTS" or "Debian GNU/Linux 12 (bookworm)".
  static func versionInPrettyName(_ s: String?) -> String {
    guard var s else { return "" }
    if let paren = s.firstIndex(of: "(") { s = String(s[..<paren]) }
    for word in s.split(separator: " ").reversed() where word.first?.isNumber == true {
      if word.allSatisfy({ $0.isNumber || $0 == "." || $0 == "+" || $0 == "-" || ($0.isLowercase && $0.isASCII) }),
        word.last?.isNumber == true
      {
        return String(word)
      }
    }
    return ""
  }

  static func distribution(_ raw: Raw, into facts: inout OrderedDict) {
    let system = raw["system"] ?? "Linux"
    guard system == "Linux" else {
      facts["distribution"] = .string(system)
      facts["os_family"] = .string(system)
      return
    }
    let osReleasePath = raw.file("/etc/os-release") != nil ? "/etc/os-release" : "/usr/lib/os-release"
    let osReleaseLines = raw.file(osReleasePath)
    let os = shellAssignments(osReleaseLines ?? [])
    let lsbLines = raw.file("/etc/lsb-release")
    let lsb = shellAssignments(lsbLines ?? [])
    let debianVersion = raw.file("/etc/debian_version")?.first?.trimmingCharacters(in: .whitespaces)

    // The `distro` package's guess (ansible's baseline).
    let normalized = ["ol": "oracle", "opensuse-leap": "opensuse"]
    var id = (os["ID"] ?? "").lowercased()
    id = normalized[id] ?? id
    if id.isEmpty, let l = lsb["DISTRIB_ID"] { id = l.lowercased().replacingOccurrences(of: " ", with: "_") }
    var name = id.isEmpty ? "OtherLinux" : id.prefix(1).uppercased() + id.dropFirst()
    if name == "Amzn" { name = "Amazon" } else if name == "Rhel" { name = "Redhat" }
    var candidates = [
      os["VERSION_ID"] ?? "", lsb["DISTRIB_RELEASE"] ?? "", versionInPrettyName(os["PRETTY_NAME"]),
      versionInPrettyName(lsb["DISTRIB_DESCRIPTION"]),
    ]
    let like = (os["ID_LIKE"] ?? "").split(separator: " ")
    if id == "debian" || like.contains("debian") { candidates.append(debianVersion ?? "") }
    var version = candidates.first(where: { !$0.isEmpty }) ?? ""
    if id == "debian" || id == "centos" {
      var best = ""
      for v in candidates where best.isEmpty || v.filter({ $0 == "." }).count > best.filter({ $0 == "." }).count {
        best = v
      }
      version = id == "centos" ? best.split(separator: ".").prefix(2).joined(separator: ".") : best
    }
    var codename = os["VERSION_CODENAME"] ?? os["UBUNTU_CODENAME"]
    if codename == nil, id == "ubuntu" { codename = lsb["DISTRIB_CODENAME"] }
    if codename == nil {
      // distro.codename(): os-release's VERSION "(name)" or ", name", then lsb's codename.
      if let v = os["VERSION"], let r = v.range(of: #"\(\D+\)|,\s*\D+"#, options: .regularExpression) {
        codename = v[r].trimmingCharacters(in: CharacterSet(charactersIn: "(), "))
      } else if let c = lsb["DISTRIB_CODENAME"], !c.isEmpty {
        codename = c
      }
    }
    var d: [String: String] = [
      "distribution": name, "distribution_version": version.isEmpty ? "NA" : version,
      "distribution_release": codename ?? "NA",
    ]
    d["distribution_major_version"] = version.split(separator: ".", omittingEmptySubsequences: false).first.map(String.init)
      .flatMap { $0.isEmpty ? nil : $0 } ?? "NA"
    var parsed = false

    // The distribution files ansible-core checks, in its order (the ones for Debian-like
    // systems and the common others).
    func found(_ dist: String, _ path: String, variety: String? = nil) {
      d["distribution"] = dist
      d["distribution_file_path"] = path
      d["distribution_file_variety"] = variety ?? dist
      parsed = true
    }
    let stripQuotes = CharacterSet(charactersIn: "'\"\\")
    func content(_ path: String) -> String? {
      guard let lines = raw.file(path) else { return nil }
      let text = lines.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
      return text.isEmpty ? nil : text.trimmingCharacters(in: stripQuotes)
    }
    if let data = content("/etc/redhat-release") ?? content("/etc/centos-release") ?? content("/etc/oracle-release") {
      let path = ["/etc/oracle-release", "/etc/centos-release", "/etc/redhat-release"].first { raw.file($0) != nil }!
      if path == "/etc/oracle-release" && data.contains("Oracle Linux") {
        found("OracleLinux", path)
      } else {
        found(data.contains("Red Hat") ? "RedHat" : String(data.split(separator: " ").first ?? "RedHat"), path, variety: "RedHat")
      }
    } else if let data = content("/etc/alpine-release") {
      found("Alpine", "/etc/alpine-release")
      d["distribution_version"] = data
    } else if raw.file("/etc/arch-release") != nil {
      found("Archlinux", "/etc/arch-release")
    } else if let data = content(osReleasePath), data.contains("Arch Linux") {
      found("Archlinux", osReleasePath)
    } else if let data = content(osReleasePath), data.lowercased().contains("suse") {
      found("SUSE", osReleasePath)
      if let n = os["NAME"] { d["distribution"] = n }
      if let v = os["VERSION_ID"], let r = v.range(of: #"^[0-9]+\.?[0-9]*"#, options: .regularExpression) {
        d["distribution_version"] = String(v[r])
      }
    } else {
      for path in [osReleasePath, "/etc/lsb-release"] {
        guard let data = content(path) else { continue }
        var debian: [String: String] = [:]
        if data.contains("Debian") || data.contains("Raspbian") {
          debian["distribution"] = "Debian"
          if let r = data.range(of: #"PRETTY_NAME=[^(]+ \(?([^)]+?)\)"#, options: .regularExpression) {
            let m = data[r]
            if let open = m.lastIndex(of: "(") {
              debian["distribution_release"] = String(m[m.index(after: open)...].dropLast())
            }
          }
          if let line = debianVersion,
            let r = line.range(of: #"[0-9]+\.[0-9]+"#, options: .regularExpression)
          {
            debian["distribution_minor_version"] = String(line[r].split(separator: ".")[1])
          }
        } else if data.contains("Ubuntu") {
          debian["distribution"] = "Ubuntu"
        } else if data.contains("SteamOS") {
          debian["distribution"] = "SteamOS"
        } else if data.contains("Kali") || data.contains("Parrot") {
          debian["distribution"] = data.contains("Kali") ? "Kali" : "Parrot"
          if let r = lsb["DISTRIB_RELEASE"], path == "/etc/lsb-release" { debian["distribution_release"] = r }
        } else if data.contains("Devuan") {
          debian["distribution"] = "Devuan"
          if let v = os["VERSION_ID"] {
            debian["distribution_version"] = v
            debian["distribution_major_version"] = v
          }
        } else if data.contains("Mint") {
          debian["distribution"] = "Linux Mint"
          if let v = os["VERSION_ID"] {
            debian["distribution_version"] = v
            debian["distribution_major_version"] = String(v.split(separator: ".").first ?? "")
          }
        } else {
          continue
        }
        found("Debian", path)
        d.merge(debian) { $1 }
        break
      }
    }
    for (k, v) in d { facts[k] = .string(v) }
    if parsed { facts["distribution_file_parsed"] = true }
    let dist = d["distribution"] ?? name
    facts["os_family"] = .string(osFamily[dist] ?? dist)
  }

  // MARK: - date_time

  /// Gregorian date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
  static func civil(_ days: Int) -> (year: Int, month: Int, day: Int) {
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let day = doy - (153 * mp + 2) / 5 + 1
    let month = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
  }

  /// "+0130" -> 5400
  static func offsetSeconds(_ z: String) -> Int? {
    guard z.count == 5, let n = Int(z.dropFirst()), z.first == "+" || z.first == "-" else { return nil }
    let s = (n / 100) * 3600 + (n % 100) * 60
    return z.first == "-" ? -s : s
  }

  static func dateTime(_ raw: Raw, into facts: inout OrderedDict) {
    guard let line = raw["date"] else { return }
    let p = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
    guard p.count == 13, let epoch = Int(p[9]) else { return }
    let (year, month, weekday, weekdayNumber, weeknumber, day, hour, minute, second) =
      (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8])
    let nanos = p[10]
    let micro = nanos.count >= 6 && nanos.allSatisfy(\.isNumber) ? String(nanos.prefix(6)) : "000000"
    let (tz, tzOffset) = (p[11], p[12])
    let days = Int((Double(epoch) / 86400).rounded(.down))
    let secs = epoch - days * 86400
    let u = civil(days)
    let two = { (n: Int) in n < 10 ? "0\(n)" : "\(n)" }
    let utc = "\(u.year)-\(two(u.month))-\(two(u.day))T\(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))"
    var tzDst = tz
    let zones = (raw.kv["tz"] ?? []).map { $0.split(separator: " ", maxSplits: 1).map(String.init) }
    if zones.count == 2, zones.allSatisfy({ $0.count == 2 }), let jan = offsetSeconds(zones[0][0]),
      let jul = offsetSeconds(zones[1][0])
    {
      // CPython's time.tzname: (January's, July's), swapped in the southern hemisphere.
      tzDst = jan > jul ? zones[0][1] : zones[1][1]
    }
    let basic = "\(year)\(month)\(day)T\(hour)\(minute)\(second)"
    facts["date_time"] = .dict([
      "year": .string(year), "month": .string(month), "weekday": .string(weekday),
      "weekday_number": .string(weekdayNumber), "weeknumber": .string(weeknumber), "day": .string(day),
      "hour": .string(hour), "minute": .string(minute), "second": .string(second), "epoch": .string(p[9]),
      "epoch_int": .string(String(epoch)), "date": .string("\(year)-\(month)-\(day)"),
      "time": .string("\(hour):\(minute):\(second)"), "iso8601_micro": .string("\(utc).\(micro)Z"),
      "iso8601": .string("\(utc)Z"), "iso8601_basic": .string(basic + micro), "iso8601_basic_short": .string(basic),
      "tz": .string(tz), "tz_dst": .string(tzDst), "tz_offset": .string(tzOffset),
    ])
  }

  // MARK: - env, user

  static func environment(_ raw: Raw, into facts: inout OrderedDict) {
    guard let lines = raw.sections["env"] else { return }
    let text = lines.joined(separator: "\n")
    var entries: [String] = []
    if text.contains("\0") {
      entries = text.split(separator: "\0").map(String.init).filter { $0 != "\n" }
    } else {
      // `env` without -0: a line without '=' continues the previous value.
      for line in lines where !(line.isEmpty && entries.isEmpty) {
        if line.contains("="), let first = line.first, first != "=" {
          entries.append(line)
        } else if !entries.isEmpty {
          entries[entries.count - 1] += "\n" + line
        }
      }
      if entries.last?.hasSuffix("\n") == true { entries[entries.count - 1].removeLast() }
    }
    var env = OrderedDict()
    for e in entries {
      guard let eq = e.firstIndex(of: "=") else { continue }
      env[String(e[..<eq])] = .string(String(e[e.index(after: eq)...]))
    }
    facts["env"] = .dict(env)
  }

  static func user(_ raw: Raw, into facts: inout OrderedDict) {
    if let u = raw["user"] { facts["user_id"] = .string(u) }
    if let pw = raw["pw"] {
      let f = pw.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
      if f.count >= 7 {
        if facts["user_id"] == nil { facts["user_id"] = .string(f[0]) }
        if let uid = Int(f[2]) { facts["user_uid"] = .int(uid) }
        if let gid = Int(f[3]) { facts["user_gid"] = .int(gid) }
        facts["user_gecos"] = .string(f[4])
        facts["user_dir"] = .string(f[5])
        facts["user_shell"] = .string(f[6])
      }
    }
    guard let status = raw.section(where: { $0.hasPrefix("file /proc/") && $0.hasSuffix("/status") }) else { return }
    for line in status {
      let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
      if w.first == "Uid:", w.count >= 3, let real = Int(w[1]), let effective = Int(w[2]) {
        facts["real_user_id"] = .int(real)
        facts["effective_user_id"] = .int(effective)
      } else if w.first == "Gid:", w.count >= 2, let real = Int(w[1]) {
        facts["real_group_id"] = .int(real)
        facts["effective_group_id"] = .int(real)  // sic: ansible-core reports getgid() for both
      }
    }
  }

  // MARK: - hardware: memory, cpu, uptime

  static func memory(_ raw: Raw, into facts: inout OrderedDict) {
    guard let lines = raw.file("/proc/meminfo") else { return }
    var mb: [String: Int] = [:]
    for line in lines {
      guard let colon = line.firstIndex(of: ":") else { continue }
      let key = String(line[..<colon])
      guard ["MemTotal", "SwapTotal", "MemFree", "SwapFree", "Buffers", "Cached", "SwapCached"].contains(key),
        let kb = line[line.index(after: colon)...].split(separator: " ").first.flatMap({ Int($0) })
      else { continue }
      mb[key.lowercased()] = kb / 1024
      if ["MemTotal", "SwapTotal", "MemFree", "SwapFree"].contains(key) { facts["\(key.lowercased())_mb"] = .int(kb / 1024) }
    }
    func v(_ n: Int?) -> Value { n.map(Value.int) ?? .null }
    let nocacheFree = mb["cached"].flatMap { c in mb["memfree"].flatMap { f in mb["buffers"].map { c + f + $0 } } }
    facts["memory_mb"] = .dict([
      "real": .dict([
        "total": v(mb["memtotal"]), "free": v(mb["memfree"]),
        "used": v(mb["memtotal"].flatMap { t in mb["memfree"].map { t - $0 } }),
      ]),
      "nocache": .dict(["free": v(nocacheFree), "used": v(mb["memtotal"].flatMap { t in nocacheFree.map { t - $0 } })]),
      "swap": .dict([
        "total": v(mb["swaptotal"]), "free": v(mb["swapfree"]), "cached": v(mb["swapcached"]),
        "used": v(mb["swaptotal"].flatMap { t in mb["swapfree"].map { t - $0 } }),
      ]),
    ])
  }

  /// The number of CPUs in a list such as "0-3,8-11".
  static func cpuListCount(_ list: String) -> Int? {
    var n = 0
    for part in list.split(separator: ",") {
      let ends = part.split(separator: "-").map { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard let a = ends.first ?? nil else { return nil }
      let b = ends.count > 1 ? ends[1] ?? a : a
      n += b - a + 1
    }
    return n > 0 ? n : nil
  }

  /// ansible-core's LinuxHardware.get_cpu_facts, quirks included.
  static func cpu(_ raw: Raw, into facts: inout OrderedDict) {
    if let up = raw["uptime"]?.split(separator: " ").first, let s = Double(up) { facts["uptime_seconds"] = .int(Int(s)) }
    guard let lines = raw.file("/proc/cpuinfo") else { return }
    let xen = raw["xen"] != nil
    var xenParavirt = false
    var processor: [Value] = []
    var i = 0, vendorOcc = 0, modelOcc = 0, processorOcc = 0, zp = 0, zmt = 0
    // Python dicts keyed by the last 'physical id' / 'core id' value; "\0" stands for the
    // initial int 0, which is a different key from the string "0".
    var physid = "\0", coreid = "\0"
    var sockets: [(String, Int)] = [], cores: [(String, Int)] = []
    func set(_ d: inout [(String, Int)], _ k: String, _ v: Int) {
      if let idx = d.firstIndex(where: { $0.0 == k }) { d[idx].1 = v } else { d.append((k, v)) }
    }
    for line in lines {
      let parts = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
      let key = parts[0].trimmingCharacters(in: .whitespaces)
      let val = parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : ""
      if xen, key == "flags", !val.contains("vme") { xenParavirt = true }
      switch key {
      case "model name", "Processor", "vendor_id", "cpu", "Vendor", "processor":
        processor.append(.string(val))
        if key == "vendor_id" { vendorOcc += 1 }
        if key == "model name" { modelOcc += 1 }
        if key == "processor" { processorOcc += 1 }
        i += 1
      case "physical id":
        physid = val
        if !sockets.contains(where: { $0.0 == val }) { sockets.append((val, 1)) }
      case "core id":
        coreid = val
        if !sockets.contains(where: { $0.0 == val }) { set(&cores, val, 1) }
      case "cpu cores": if let n = Int(val) { set(&sockets, physid, n) }
      case "siblings": if let n = Int(val) { set(&cores, coreid, n) }
      case "# processors": zp = Int(val) ?? zp
      case "max thread id": zmt = (Int(val) ?? -1) + 1
      case "ncpus active": i = Int(val) ?? i
      default: break
      }
    }
    facts["processor"] = .list(processor)
    if vendorOcc > 0, vendorOcc == modelOcc { i = vendorOcc }
    let arch = facts["architecture"]?.stringValue ?? ""
    if arch.hasPrefix("armv") || arch.hasPrefix("aarch") || arch.hasPrefix("ppc") { i = processorOcc }
    var nproc: Int
    if arch == "s390x" {
      facts["processor_count"] = 1
      let threads = zmt == 0 ? 1 : zmt
      facts["processor_cores"] = .int(Int((Double(zp) / Double(threads)).rounded(.toNearestOrEven)))
      facts["processor_threads_per_core"] = .int(zmt)
      facts["processor_vcpus"] = .int(zp)
      nproc = zp
    } else if xenParavirt {
      for k in ["processor_count", "processor_cores", "processor_vcpus"] { facts[k] = .int(i) }
      facts["processor_threads_per_core"] = 1
      nproc = i
    } else {
      let count = sockets.isEmpty ? i : sockets.count
      let coresPerSocket = sockets.first.map(\.1).flatMap { $0 == 0 ? nil : $0 } ?? 1
      let threads = Int(((Double(cores.first?.1 ?? 1)) / Double(coresPerSocket)).rounded(.toNearestOrEven))
      facts["processor_count"] = .int(count)
      facts["processor_cores"] = .int(coresPerSocket)
      facts["processor_threads_per_core"] = .int(threads)
      facts["processor_vcpus"] = .int(threads * count * coresPerSocket)
      nproc = processorOcc
    }
    if let status = raw.section(where: { $0.hasPrefix("file /proc/") && $0.hasSuffix("/status") }),
      let line = status.first(where: { $0.hasPrefix("Cpus_allowed_list:") }),
      let n = cpuListCount(String(line.dropFirst("Cpus_allowed_list:".count)))
    {
      nproc = n
    }
    facts["processor_nproc"] = .int(nproc)
  }

  // MARK: - mounts

  /// Replaces the octal escapes (`\040`) of /proc/mounts.
  static func unescapeOctal(_ s: String) -> String {
    guard s.contains("\\") else { return s }
    let u = Array(s.utf8)
    var bytes: [UInt8] = []
    var i = 0
    while i < u.count {
      if u[i] == UInt8(ascii: "\\"), i + 3 < u.count, (1...3).allSatisfy({ (48...55).contains(u[i + $0]) }) {
        let n = Int(u[i + 1] - 48) * 64 + Int(u[i + 2] - 48) * 8 + Int(u[i + 3] - 48)
        if n < 256 {
          bytes.append(UInt8(n))
          i += 4
          continue
        }
      }
      bytes.append(u[i])
      i += 1
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  static func mounts(_ raw: Raw, into facts: inout OrderedDict) {
    guard let mtab = raw.file("/etc/mtab") ?? raw.file("/proc/mounts") else { return }
    var binds = Set<String>()
    for line in raw.file("/proc/self/mountinfo") ?? [] {
      if let target = line.split(separator: " ").first { binds.insert(unescapeOctal(String(target))) }
    }
    var sizes: [String: [Int]] = [:]
    for line in raw.sections["mounts"] ?? [] {
      let w = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: false)
      guard w.count == 7 else { continue }
      let n = w.prefix(6).compactMap { Int($0) }
      if n.count == 6 { sizes[String(w[6])] = n }
    }
    // ls -l /dev/disk/by-uuid /dev/mapper: UUIDs by kernel device, and device-mapper aliases.
    var uuidByDevice: [String: String] = [:], alias: [String: String] = [:]
    var dir = ""
    for line in raw.sections["uuids"] ?? [] {
      if line.hasSuffix(":"), !line.contains(" ") { dir = String(line.dropLast()); continue }
      guard let arrow = line.range(of: " -> ") else { continue }
      let name = String(line[..<arrow.lowerBound].split(separator: " ").last ?? "")
      let target = "/dev/" + (line[arrow.upperBound...].split(separator: "/").last ?? "")
      if dir.hasSuffix("by-uuid") { uuidByDevice[target] = name } else { alias["/dev/mapper/" + name] = target }
    }
    var order: [String] = []
    var byMount: [String: OrderedDict] = [:]
    for line in mtab {
      let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { unescapeOctal(String($0)) }
      guard fields.count >= 6, let dump = Int(fields[4]), let passno = Int(fields[5]) else { continue }
      let (device, mount, fstype) = (fields[0], fields[1], fields[2])
      guard (device.hasPrefix("/") || device.hasPrefix("\\") || device.contains(":/")) && fstype != "none" else {
        continue
      }
      var info: OrderedDict = [
        "mount": .string(mount), "device": .string(device), "fstype": .string(fstype),
        "options": .string(fields[3] + (binds.contains(mount) ? ",bind" : "")), "dump": .int(dump),
        "passno": .int(passno),
      ]
      if let s = sizes[mount] {
        let (frsize, bsize, blocks, bavail, files, ffree) = (s[0], s[1], s[2], s[3], s[4], s[5])
        info["size_total"] = .int(frsize * blocks)
        info["size_available"] = .int(frsize * bavail)
        info["block_size"] = .int(bsize)
        info["block_total"] = .int(blocks)
        info["block_available"] = .int(bavail)
        info["block_used"] = .int(blocks - bavail)
        info["inode_total"] = .int(files)
        info["inode_available"] = .int(ffree)
        info["inode_used"] = .int(files - ffree)
      }
      info["uuid"] = .string(uuidByDevice[device] ?? alias[device].flatMap { uuidByDevice[$0] } ?? "N/A")
      if byMount[mount] == nil { order.append(mount) }
      byMount[mount] = info
    }
    facts["mounts"] = .list(order.compactMap { byMount[$0].map(Value.dict) })
  }

  // MARK: - network

  static let interfaceTypes = ["1": "ether", "32": "infiniband", "512": "ppp", "772": "loopback", "65534": "tunnel"]

  /// An address line in `ip addr show` form: "inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0".
  struct AddressLine {
    var words: [String]
    var secondary: Bool
  }

  static func ipv4Number(_ s: String) -> UInt32? {
    let p = s.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt32($0) }
    guard p.count == 4, p.allSatisfy({ $0 < 256 }) else { return nil }
    return p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]
  }

  static func ipv4String(_ n: UInt32) -> String { "\(n >> 24).\(n >> 16 & 255).\(n >> 8 & 255).\(n & 255)" }

  /// 32 hex digits -> the compressed text form (as inet_ntop writes it).
  static func ipv6String(hex: String) -> String? {
    let h = Array(hex)
    guard h.count == 32 else { return nil }
    let groups = (0..<8).compactMap { UInt16(String(h[($0 * 4)..<($0 * 4 + 4)]), radix: 16) }
    guard groups.count == 8 else { return nil }
    var best = (start: -1, len: 0), cur = (start: -1, len: 0)
    for (i, g) in groups.enumerated() {
      if g == 0 {
        cur = cur.start < 0 ? (i, 1) : (cur.start, cur.len + 1)
        if cur.len > best.len { best = cur }
      } else {
        cur = (-1, 0)
      }
    }
    if best.len < 2 { best = (-1, 0) }
    var out = ""
    var i = 0
    while i < 8 {
      if i == best.start {
        out += "::"
        i += best.len
        continue
      }
      if !out.isEmpty && !out.hasSuffix(":") { out += ":" }
      out += String(groups[i], radix: 16)
      i += 1
    }
    return out
  }

  static func network(_ raw: Raw, into facts: inout OrderedDict) {
    var default4: OrderedDict = [:], default6: OrderedDict = [:]
    var lines: [String: [AddressLine]] = [:]
    if raw.sections["ipaddr"] != nil {
      func route(_ section: String, _ query: String) -> OrderedDict {
        var d = OrderedDict()
        guard let first = raw.sections[section]?.first else { return d }
        let w = first.split(separator: " ").map(String.init)
        guard w.first == query else { return d }
        for i in 0..<max(0, w.count - 1) {
          if w[i] == "dev" { d["interface"] = .string(w[i + 1]) }
          else if w[i] == "src" { d["address"] = .string(w[i + 1]) }
          else if w[i] == "via", w[i + 1] != query { d["gateway"] = .string(w[i + 1]) }
        }
        return d
      }
      default4 = route("route4", "8.8.8.8")
      default6 = route("route6", "2404:6800:400a:800::1012")
      var device = ""
      for line in raw.sections["ipaddr"] ?? [] {
        if let c = line.first, c != " ", c != "\t" {
          let w = line.split(separator: " ")
          if w.count >= 2 {
            var name = String(w[1].dropLast(w[1].hasSuffix(":") ? 1 : 0))
            if let at = name.firstIndex(of: "@") { name = String(name[..<at]) }
            device = name
          }
          continue
        }
        let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard let kind = w.first, kind == "inet" || kind == "inet6" else { continue }
        let secondary = kind == "inet" ? w.contains("secondary") : w.contains("temporary")
        lines[device, default: []].append(AddressLine(words: w, secondary: secondary))
      }
    } else {
      (lines, default4, default6) = fallbackAddresses(raw)
    }

    var interfaces: [String: OrderedDict] = [:]
    var names: [String] = []
    func setInterface(_ name: String, _ d: OrderedDict) {
      if interfaces[name] == nil { names.append(name) }
      interfaces[name] = d
    }
    var all4: [Value] = [], all6: [Value] = []
    var macaddress = ""
    for device in raw.interfaceOrder {
      let attrs = raw.sections["if " + device] ?? []
      var a: [String: String] = [:], brif: [String] = []
      for line in attrs {
        guard let eq = line.firstIndex(of: "=") else { continue }
        let k = String(line[..<eq]), v = String(line[line.index(after: eq)...])
        if k == "brif" { brif.append(v) } else { a[k] = v }
      }
      var d: OrderedDict = ["device": .string(device)]
      if let mac = a["address"] {
        macaddress = mac
        if !mac.isEmpty && mac != "00:00:00:00:00:00" { d["macaddress"] = .string(mac) }
      }
      if let mtu = a["mtu"].flatMap({ Int($0) }) { d["mtu"] = .int(mtu) }
      if let state = a["operstate"] { d["active"] = .bool(state != "down") }
      if let module = a["module"] { d["module"] = .string(module) }
      if let type = a["type"] { d["type"] = .string(interfaceTypes[type] ?? "unknown") }
      if a["bridge"] != nil {
        d["type"] = "bridge"
        d["interfaces"] = .list(brif.map(Value.string))
        if let id = a["bridge/bridge_id"] { d["id"] = .string(id) }
        if let stp = a["bridge/stp_state"] { d["stp"] = .bool(stp == "1") }
      }
      if a["bonding"] != nil {
        d["type"] = "bonding"
        d["slaves"] = .list((a["bonding/slaves"] ?? "").split(separator: " ").map { .string(String($0)) })
        for k in ["mode", "miimon", "lacp_rate"] {
          d[k] = .string(String((a["bonding/" + k] ?? "").split(separator: " ").first ?? ""))
        }
        if let primary = a["bonding/primary"], !primary.isEmpty {
          d["primary"] = .string(primary)
          if let all = a["bonding/all_slaves_active"] { d["all_slaves_active"] = .bool(all == "1") }
        }
      }
      if let perm = a["bonding_slave/perm_hwaddr"] { d["perm_macaddress"] = .string(perm) }
      if let pciid = a["pciid"] { d["pciid"] = .string(pciid) }
      if let speed = a["speed"].flatMap({ Int($0) }) { d["speed"] = .int(speed) }
      if let flags = a["flags"], let n = Int(flags.hasPrefix("0x") ? String(flags.dropFirst(2)) : flags, radix: 16) {
        d["promisc"] = .bool(n & 0x100 != 0)
      }
      setInterface(device, d)

      // LinuxNetwork.parse_ip_output: the primary addresses, then the secondary ones.
      let addressLines = lines[device] ?? []
      for secondary in [false, true] {
        for line in addressLines where line.secondary == secondary {
          let w = line.words
          if w[0] == "inet", w.count >= 2 {
            var address = w[1], prefix = "32", broadcast = ""
            if let slash = w[1].firstIndex(of: "/") {
              address = String(w[1][..<slash])
              prefix = String(w[1][w[1].index(after: slash)...])
              if w.count > 3, w[2] == "brd" { broadcast = w[3] }
            }
            guard let addr = ipv4Number(address), let bits = Int(prefix), (0...32).contains(bits) else { continue }
            let mask: UInt32 = bits == 0 ? 0 : UInt32.max << (32 - bits)
            let v4: OrderedDict = [
              "address": .string(address), "broadcast": .string(broadcast), "netmask": .string(ipv4String(mask)),
              "network": .string(ipv4String(addr & mask)), "prefix": .string(prefix),
            ]
            let iface = w[w.count - 1]
            if iface != device { setInterface(iface, [:]) }
            var target = interfaces[iface] ?? [:]
            if !secondary && target["ipv4"] == nil {
              target["ipv4"] = .dict(v4)
            } else {
              target["ipv4_secondaries"] = .list((target["ipv4_secondaries"]?.listValue ?? []) + [.dict(v4)])
            }
            setInterface(iface, target)
            if secondary {
              var main = interfaces[device] ?? [:]
              var list = main["ipv4_secondaries"]?.listValue ?? []
              if device != iface { list.append(.dict(v4)) }
              main["ipv4_secondaries"] = .list(list)
              setInterface(device, main)
            }
            if default4["address"]?.stringValue == address {
              default4["broadcast"] = .string(broadcast)
              default4["netmask"] = v4["netmask"]
              default4["network"] = v4["network"]
              default4["prefix"] = .string(prefix)
              default4["macaddress"] = .string(macaddress)
              default4["mtu"] = interfaces[device]?["mtu"] ?? .null
              default4["type"] = interfaces[device]?["type"] ?? "unknown"
              default4["alias"] = .string(iface)
            }
            if !address.hasPrefix("127.") { all4.append(.string(address)) }
          } else if w[0] == "inet6", w.count >= 4 {
            var address: String, prefix: String, scope: String
            if w[2] == "peer", w.count >= 6 {
              address = w[1]
              prefix = String(w[3].split(separator: "/").last ?? "")
              scope = w[5]
            } else {
              let parts = w[1].split(separator: "/")
              address = String(parts[0])
              prefix = parts.count > 1 ? String(parts[1]) : ""
              scope = w[3]
            }
            var main = interfaces[device] ?? [:]
            main["ipv6"] = .list(
              (main["ipv6"]?.listValue ?? []) + [
                .dict(["address": .string(address), "prefix": .string(prefix), "scope": .string(scope)])
              ])
            setInterface(device, main)
            if default6["address"]?.stringValue == address {
              default6["prefix"] = .string(prefix)
              default6["scope"] = .string(scope)
              default6["macaddress"] = .string(macaddress)
              default6["mtu"] = interfaces[device]?["mtu"] ?? .null
              default6["type"] = interfaces[device]?["type"] ?? "unknown"
            }
            if address != "::1" { all6.append(.string(address)) }
          }
        }
      }
    }
    guard !names.isEmpty else { return }
    var listed: [String] = []
    for name in names {
      let key = name.replacingOccurrences(of: ":", with: "_")
      if !listed.contains(key) { listed.append(key) }
      facts[key.replacingOccurrences(of: "-", with: "_")] = .dict(interfaces[name] ?? [:])
    }
    facts["interfaces"] = .list(listed.map(Value.string))
    facts["default_ipv4"] = .dict(default4)
    facts["default_ipv6"] = .dict(default6)
    facts["all_ipv4_addresses"] = .list(all4)
    facts["all_ipv6_addresses"] = .list(all6)
  }

  /// Address lines and default routes without `ip`: from `ifconfig -a`, or /proc/net/fib_trie and
  /// /proc/net/route; IPv6 from /proc/net/if_inet6 and /proc/net/ipv6_route.
  static func fallbackAddresses(_ raw: Raw) -> ([String: [AddressLine]], OrderedDict, OrderedDict) {
    var lines: [String: [AddressLine]] = [:]
    func add(_ device: String, _ words: [String], secondary: Bool) {
      lines[device, default: []].append(AddressLine(words: words, secondary: secondary))
    }
    func prefixLength(_ mask: UInt32) -> Int { mask.nonzeroBitCount }
    // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ... (little-endian hex)
    var routes: [(iface: String, dest: UInt32, gateway: UInt32, flags: Int, metric: Int, mask: UInt32)] = []
    for line in (raw.sections["proc_route"] ?? []).dropFirst() {
      let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      guard w.count >= 8, let dest = UInt32(w[1], radix: 16), let gw = UInt32(w[2], radix: 16),
        let flags = Int(w[3], radix: 16), let metric = Int(w[6]), let mask = UInt32(w[7], radix: 16)
      else { continue }
      routes.append((w[0], dest.byteSwapped, gw.byteSwapped, flags, metric, mask.byteSwapped))
    }
    if let ifconfig = raw.sections["ifconfig"] {
      var label = ""
      for line in ifconfig {
        if let c = line.first, c != " ", c != "\t" {
          label = String(line.split(separator: " ").first ?? "")
          if label.hasSuffix(":") { label.removeLast() }
        }
        let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard w.first == "inet", w.count >= 2 else { continue }
        var address = w[1], mask = "", broadcast = ""
        if address.hasPrefix("addr:") {  // net-tools 1.60: inet addr:A  Bcast:B  Mask:M
          address = String(address.dropFirst(5))
          for x in w {
            if x.hasPrefix("Bcast:") { broadcast = String(x.dropFirst(6)) }
            if x.hasPrefix("Mask:") { mask = String(x.dropFirst(5)) }
          }
        } else {  // net-tools 2.10: inet A  netmask M  broadcast B
          for (i, x) in w.enumerated() where i + 1 < w.count {
            if x == "netmask" { mask = w[i + 1] }
            if x == "broadcast" { broadcast = w[i + 1] }
          }
        }
        let bits = ipv4Number(mask).map(prefixLength) ?? 32
        if broadcast == "0.0.0.0" { broadcast = "" }
        let device = String(label.split(separator: ":").first ?? "")
        var words = ["inet", "\(address)/\(bits)"]
        if !broadcast.isEmpty { words += ["brd", broadcast] }
        add(device, words + ["scope", "global", label], secondary: label != device)
      }
    } else if let trie = raw.sections["fib_trie"] {
      var last = "", locals: [String] = [], hostNets: [(UInt32, Int)] = [], broadcasts = Set<String>()
      for line in trie {
        let t = line.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("|-- ") { last = String(t.dropFirst(4)); continue }
        let w = t.split(separator: " ")
        guard w.count >= 3, w[0].hasPrefix("/"), let bits = Int(w[0].dropFirst()) else { continue }
        if w[1] == "host", w[2] == "LOCAL" {
          if bits == 32 { if !locals.contains(last) { locals.append(last) } }
          else if let n = ipv4Number(last) { hostNets.append((n, bits)) }
        } else if w[2] == "BROADCAST" {
          broadcasts.insert(last)
        }
      }
      for address in locals {
        guard let addr = ipv4Number(address) else { continue }
        let route = routes.filter { $0.flags & 2 == 0 && $0.mask != 0 && addr & $0.mask == $0.dest }
          .max { $0.mask.nonzeroBitCount < $1.mask.nonzeroBitCount }
        var device = route?.iface ?? "lo", bits = route.map { prefixLength($0.mask) } ?? 32
        if route == nil, let net = hostNets.first(where: { n in
          let m: UInt32 = n.1 == 0 ? 0 : UInt32.max << (32 - n.1)
          return addr & m == n.0
        }) {
          device = "lo"
          bits = net.1
        }
        let mask: UInt32 = bits == 0 ? 0 : UInt32.max << (32 - bits)
        let bcast = ipv4String(addr & mask | ~mask)
        var words = ["inet", "\(address)/\(bits)"]
        if broadcasts.contains(bcast) && bits < 31 && device != "lo" { words += ["brd", bcast] }
        add(device, words + ["scope", "global", device], secondary: lines[device]?.contains { $0.words[0] == "inet" } == true)
      }
    }
    let scopes = ["00": "global", "10": "host", "20": "link", "40": "site", "05": "global", "0e": "global"]
    for line in raw.sections["if_inet6"] ?? [] {
      let w = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
      guard w.count >= 6, let address = ipv6String(hex: w[0]), let plen = Int(w[2], radix: 16),
        let flags = Int(w[4], radix: 16)
      else { continue }
      add(w[5], ["inet6", "\(address)/\(plen)", "scope", scopes[w[3]] ?? "global"], secondary: flags & 1 != 0)
    }
    var default4 = OrderedDict(), default6 = OrderedDict()
    if let r = routes.filter({ $0.dest == 0 && $0.mask == 0 }).min(by: { $0.metric < $1.metric }) {
      default4["interface"] = .string(r.iface)
      if r.gateway != 0 { default4["gateway"] = .string(ipv4String(r.gateway)) }
      if let first = lines[r.iface]?.first(where: { $0.words[0] == "inet" && !$0.secondary }) {
        default4["address"] = .string(String(first.words[1].split(separator: "/")[0]))
      }
    }
    // /proc/net/ipv6_route (only ::/0): dest plen src plen next-hop metric refcnt use flags iface
    let v6routes = (raw.sections["proc_route6"] ?? []).map { $0.split(separator: " ").map(String.init) }
      .filter { $0.count >= 10 && (Int($0[8], radix: 16) ?? 0) & 0x0200 == 0 && $0[9] != "lo" }
    if let r = v6routes.min(by: { (Int($0[5], radix: 16) ?? 0) < (Int($1[5], radix: 16) ?? 0) }) {
      default6["interface"] = .string(r[9])
      if let gw = ipv6String(hex: r[4]), gw != "::" { default6["gateway"] = .string(gw) }
      if let first = lines[r[9]]?.first(where: { $0.words[0] == "inet6" && $0.words[3] == "global" }) {
        default6["address"] = .string(String(first.words[1].split(separator: "/")[0]))
      }
    }
    return (lines, default4, default6)
  }

  // MARK: - service manager, package manager, small ones

  static func system(_ raw: Raw, into facts: inout OrderedDict) {
    let family = facts["os_family"]?.stringValue ?? ""
    let pkgs: [(String, String)] = [
      ("/usr/bin/rpm-ostree", "atomic_container"), ("/usr/bin/yum", "dnf"), ("/usr/bin/dnf-3", "dnf"),
      ("/usr/bin/dnf5", "dnf5"), ("/usr/bin/apt-get", "apt"), ("/usr/bin/zypper", "zypper"),
      ("/usr/sbin/urpmi", "urpmi"), ("/usr/bin/pacman", "pacman"), ("/bin/opkg", "opkg"),
      ("/usr/pkg/bin/pkgin", "pkgin"), ("/opt/local/bin/pkgin", "pkgin"), ("/opt/tools/bin/pkgin", "pkgin"),
      ("/opt/local/bin/port", "macports"), ("/usr/local/bin/brew", "homebrew"),
      ("/opt/homebrew/bin/brew", "homebrew"), ("/sbin/apk", "apk"), ("/usr/sbin/pkg", "pkgng"),
      ("/usr/sbin/swlist", "swdepot"), ("/usr/bin/emerge", "portage"), ("/usr/sbin/pkgadd", "svr4pkg"),
      ("/usr/bin/pkg", "pkg5"), ("/usr/bin/xbps-install", "xbps"), ("/usr/local/sbin/pkg", "pkgng"),
      ("/usr/bin/swupd", "swupd"), ("/usr/sbin/sorcery", "sorcery"), ("/usr/bin/installp", "installp"),
    ]
    let present = Set(raw.kv["pkg"] ?? [])
    var pkg = "unknown"
    for (path, name) in pkgs where present.contains(path) && !(family == "Altlinux" && path == "/usr/bin/pkg") {
      pkg = name
    }
    if family == "RedHat" {
      if present.contains("/run/ostree-booted") {
        pkg = "atomic_container"
      } else if let dnf = raw["dnf"] {
        pkg = dnf == "/usr/bin/dnf5" ? "dnf5" : "dnf"
      } else {
        pkg = present.contains("/usr/bin/microdnf") ? "dnf" : "unknown"
      }
    } else if family == "Debian" {
      pkg = "apt"
    } else if family == "Altlinux", pkg == "apt" {
      pkg = "apt_rpm"
    }
    facts["pkg_mgr"] = .string(pkg)

    // ServiceMgrFactCollector
    var proc1: String? = raw["proc1"] ?? raw["sbin_init"]
    if let p = proc1 {
      let base = String(p.split(separator: "/").last ?? "").trimmingCharacters(in: .whitespaces)
      proc1 = base == "init" || base.hasSuffix("sh") || base.isEmpty ? nil : base
    }
    let exists = Set(raw.kv["exists"] ?? [])
    let mgr: String
    if let p = proc1 {
      mgr = ["procd": "openwrt_init", "runit-init": "runit", "svscan": "svc", "openrc-init": "openrc"][p] ?? p
    } else if (facts["system"]?.stringValue ?? "Linux") != "Linux" {
      mgr = "service"
    } else if raw["systemctl"] != nil && raw.kv["systemd_canary"] != nil {
      mgr = "systemd"
    } else if raw["initctl"] != nil && exists.contains("/etc/init/") {
      mgr = "upstart"
    } else if exists.contains("/sbin/openrc") {
      mgr = "openrc"
    } else if raw["systemctl"] != nil, raw["sbin_init"]?.split(separator: "/").last == "systemd" {
      mgr = "systemd"
    } else if exists.contains("/etc/init.d/") {
      mgr = "sysvinit"
    } else {
      mgr = "service"
    }
    facts["service_mgr"] = .string(mgr)
    facts["fips"] = .bool(raw["fips"] == "1")
    facts["apparmor"] = .dict(["status": .string(raw["apparmor"] != nil ? "enabled" : "disabled")])
  }

  // MARK: - helpers

  static func sortedKeys(_ d: OrderedDict) -> OrderedDict {
    var out = OrderedDict(minimumCapacity: d.count)
    for k in d.keys.sorted() { out[k] = sortedKeys(d[k] ?? .null) }
    return out
  }

  static func sortedKeys(_ v: Value) -> Value {
    switch v {
    case .dict(let d): return .dict(sortedKeys(d))
    case .list(let l): return .list(l.map(sortedKeys))
    default: return v
    }
  }
}
