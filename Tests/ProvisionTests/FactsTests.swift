import Foundation
import Inventory
import Testing

@testable import Provision

/// `Facts.parse` against captured and hand-made outputs of `Facts.script`.
///
/// bookworm-node1.txt is the script's output on testbed host node1 (Debian 12), and
/// bookworm-node1.setup.json what ansible-core 2.17.14's `setup` reported for that host a moment
/// later (only the keys `parse` produces). trusty.txt is hand-made for Ubuntu 14.04.
@Suite struct FactsTests {
  func fixture(_ name: String) throws -> String {
    let path = try #require(Bundle.module.path(forResource: "Fixtures/facts/\(name)", ofType: nil))
    return String(decoding: try #require(FileManager.default.contents(atPath: path)), as: UTF8.self)
  }

  func dict(_ v: Value?) -> OrderedDict { v?.dictValue ?? [:] }
  func strings(_ v: Value?) -> [String] { (v?.listValue ?? []).compactMap(\.stringValue) }
  func int(_ v: Value?) -> Int? {
    if case .int(let n)? = v { return n }
    return nil
  }

  // MARK: Debian bookworm, compared with ansible-core's setup

  @Test func bookwormMatchesAnsibleSetup() throws {
    let facts = Facts.parse(try fixture("bookworm-node1.txt"))
    let setup = try Value.parseJSON(try fixture("bookworm-node1.setup.json"))
    let reference = try #require(setup.dictValue?["ansible_facts"]?.dictValue)
    // Values that changed between the two runs, and `interfaces`, whose order ansible-core
    // randomises (it passes through a Python set).
    let volatile: Set = ["memfree_mb", "memory_mb", "uptime_seconds", "date_time", "env", "interfaces"]
    var compared = 0
    for (key, expected) in reference where !volatile.contains(String(key.dropFirst("ansible_".count))) {
      let name = String(key.dropFirst("ansible_".count))
      #expect(facts[name] == expected, "\(name)")
      if let got = facts[name], got == expected { #expect(got.typeName == expected.typeName, "\(name)") }
      compared += 1
    }
    #expect(compared >= 45)
    #expect(Set(strings(facts["interfaces"])) == Set(strings(reference["ansible_interfaces"])))
    #expect(dict(facts["memory_mb"]).keys.sorted() == dict(reference["ansible_memory_mb"]).keys.sorted())
    #expect(dict(facts["date_time"]).keys == dict(reference["ansible_date_time"]).keys)
  }

  @Test func bookwormFacts() throws {
    let facts = Facts.parse(try fixture("bookworm-node1.txt"))
    #expect(facts["distribution"] == "Debian")
    #expect(facts["os_family"] == "Debian")
    #expect(facts["distribution_release"] == "bookworm")
    #expect(facts["distribution_version"] == "12.15")
    #expect(facts["distribution_major_version"] == "12")
    #expect(facts["hostname"] == "node1")
    #expect(dict(facts["eth0"])["ipv4"]?.dictValue?["address"] == "10.231.0.11")
    #expect(Set(strings(facts["interfaces"])) == ["lo", "eth0"])
    // No default route on the test hosts: ansible-core reports {} too.
    #expect(facts["default_ipv4"] == .dict([:]))
    #expect(facts["memtotal_mb"] == 24105)
    #expect(facts["processor_vcpus"] == 2)
    // The root is an overlay, which ansible-core leaves out of `mounts` (devices not starting with '/').
    #expect(facts["mounts"] == .list([]))
    #expect(dict(facts["env"])["HOME"] == "/root")
    #expect(facts["service_mgr"] == "sysvinit")
    #expect(facts["pkg_mgr"] == "apt")
    #expect(facts.keys == facts.keys.sorted())
  }

  // MARK: Ubuntu 14.04 trusty

  @Test func trustyDistribution() throws {
    let facts = Facts.parse(try fixture("trusty.txt"))
    #expect(facts["distribution"] == "Ubuntu")
    #expect(facts["os_family"] == "Debian")
    #expect(facts["distribution_release"] == "trusty")
    #expect(facts["distribution_version"] == "14.04")
    #expect(facts["distribution_major_version"] == "14")
    #expect(facts["distribution_file_path"] == "/etc/os-release")
    #expect(facts["distribution_file_variety"] == "Debian")
    #expect(facts["distribution_minor_version"] == nil)
    #expect(facts["kernel"] == "3.13.0-170-generic")
    #expect(facts["kernel_version"] == "#220-Ubuntu SMP Thu May 9 12:40:49 UTC 2019")
    #expect(facts["architecture"] == "x86_64")
    #expect(facts["userspace_bits"] == "64")
    #expect(facts["hostname"] == "trusty-web1")
    #expect(facts["fqdn"] == "trusty-web1.example.com")
    #expect(facts["domain"] == "example.com")
    #expect(facts["service_mgr"] == "upstart")
    #expect(facts["pkg_mgr"] == "apt")
    #expect(facts["apparmor"] == ["status": "enabled"])
  }

  @Test func trustyNetwork() throws {
    let facts = Facts.parse(try fixture("trusty.txt"))
    #expect(
      facts["default_ipv4"]
        == [
          "address": "10.0.2.15", "alias": "eth0", "broadcast": "10.0.2.255", "gateway": "10.0.2.2",
          "interface": "eth0", "macaddress": "08:00:27:8a:3c:51", "mtu": 1500, "netmask": "255.255.255.0",
          "network": "10.0.2.0", "prefix": "24", "type": "ether",
        ])
    #expect(facts["default_ipv6"] == .dict([:]))
    #expect(strings(facts["interfaces"]) == ["docker0", "eth1", "lo", "eth0", "eth0_1"])
    let docker = dict(facts["docker0"])
    #expect(docker["type"] == "bridge")
    #expect(docker["active"] == false)
    #expect(docker["interfaces"] == .list([]))
    #expect(docker["stp"] == false)
    #expect(docker["id"] == "8000.56847afe9799")
    #expect(docker["speed"] == nil)
    #expect(
      docker["ipv4"]
        == ["address": "172.17.42.1", "broadcast": "", "netmask": "255.255.0.0", "network": "172.17.0.0", "prefix": "16"])
    let eth0 = dict(facts["eth0"])
    #expect(eth0["type"] == "ether")
    #expect(eth0["mtu"] == 1500)
    #expect(eth0["speed"] == 1000)
    #expect(eth0["module"] == "e1000")
    #expect(eth0["pciid"] == "0000:00:03.0")
    #expect(eth0["ipv6"] == [["address": "fe80::a00:27ff:fe8a:3c51", "prefix": "64", "scope": "link"]])
    #expect(eth0["ipv4_secondaries"]?.listValue?.first?.dictValue?["address"] == "10.0.2.16")
    #expect(dict(facts["eth0_1"]).keys == ["ipv4_secondaries"])
    let lo = dict(facts["lo"])
    #expect(lo["type"] == "loopback")
    #expect(lo["macaddress"] == nil)
    #expect(lo["active"] == true)
    #expect(strings(facts["all_ipv4_addresses"]) == ["172.17.42.1", "192.168.56.10", "10.0.2.15", "10.0.2.16"])
    #expect(strings(facts["all_ipv6_addresses"]).count == 3)
  }

  @Test func trustyHardware() throws {
    let facts = Facts.parse(try fixture("trusty.txt"))
    #expect(facts["memtotal_mb"] == 2000)
    #expect(facts["memfree_mb"] == 403)
    #expect(facts["swaptotal_mb"] == 1021)
    #expect(facts["memory_mb"]?.dictValue?["nocache"] == ["free": 1398, "used": 602])
    #expect(facts["processor_vcpus"] == 2)
    #expect(facts["processor_count"] == 1)
    #expect(facts["processor_cores"] == 2)
    #expect(facts["processor_threads_per_core"] == 1)
    #expect(facts["processor_nproc"] == 2)
    #expect(strings(facts["processor"]).prefix(3) == ["0", "GenuineIntel", "Intel(R) Xeon(R) CPU E5-2676 v3 @ 2.40GHz"])
    #expect(facts["uptime_seconds"] == 86523)
    let mounts = (facts["mounts"]?.listValue ?? []).compactMap(\.dictValue)
    #expect(mounts.compactMap { $0["mount"]?.stringValue } == ["/", "/srv/backup disk"])
    let root = try #require(mounts.first)
    #expect(root["device"] == "/dev/sda1")
    #expect(root["fstype"] == "ext4")
    #expect(root["options"] == "rw,errors=remount-ro")
    #expect(root["passno"] == 1)
    #expect(root["size_total"] == .int(4096 * 5_030_592))
    #expect(root["size_available"] == .int(4096 * 3_876_020))
    #expect(root["block_used"] == .int(5_030_592 - 3_876_020))
    #expect(root["inode_used"] == .int(1_281_120 - 1_158_004))
    #expect(root["uuid"] == "3f2a9c4e-8d1b-4e5a-9c7f-2b6d1e0a4f11")
  }

  @Test func trustyUserEnvAndTime() throws {
    let facts = Facts.parse(try fixture("trusty.txt"))
    #expect(facts["user_id"] == "deploy")
    #expect(facts["user_uid"] == 1000)
    #expect(facts["user_gid"] == 1000)
    #expect(facts["user_dir"] == "/home/deploy")
    #expect(facts["user_shell"] == "/bin/bash")
    #expect(facts["user_gecos"] == "Deploy User,,,")
    #expect(facts["effective_user_id"] == 1000)
    let env = dict(facts["env"])
    #expect(env["LANG"] == "en_US.UTF-8")
    #expect(env["_"] == "/usr/bin/env")
    #expect(env.count == 13)
    let time = dict(facts["date_time"])
    #expect(time["iso8601"] == "2019-06-24T09:15:42Z")
    #expect(time["iso8601_micro"] == "2019-06-24T09:15:42.482113Z")
    #expect(time["iso8601_basic"] == "20190624T111542482113")
    #expect(time["date"] == "2019-06-24")
    #expect(time["time"] == "11:15:42")
    #expect(time["weekday"] == "Monday")
    #expect(time["weeknumber"] == "25")
    #expect(time["tz"] == "CEST")
    #expect(time["tz_dst"] == "CEST")
    #expect(time["tz_offset"] == "+0200")
    #expect(time["epoch"] == "1561367742")
  }

  // MARK: Fallbacks

  /// Without `ip`: `ifconfig -a` (net-tools 1.60, as on trusty) and /proc/net.
  @Test func ifconfigFallback() throws {
    let output = """
      @@@FACTS:kv
      system=Linux
      machine=x86_64
      nodename=old
      @@@FACTS:ifconfig
      eth0      Link encap:Ethernet  HWaddr 08:00:27:8a:3c:51  
                inet addr:10.0.2.15  Bcast:10.0.2.255  Mask:255.255.255.0
                UP BROADCAST RUNNING MULTICAST  MTU:1500  Metric:1

      eth0:1    Link encap:Ethernet  HWaddr 08:00:27:8a:3c:51  
                inet addr:10.0.2.16  Bcast:10.0.2.255  Mask:255.255.255.0

      lo        Link encap:Local Loopback  
                inet addr:127.0.0.1  Mask:255.0.0.0
      @@@FACTS:proc_route
      Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
      eth0\t00000000\t0202000A\t0003\t0\t0\t0\t00000000\t0\t0\t0
      eth0\t0002000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
      @@@FACTS:proc_route6
      @@@FACTS:if_inet6
      fe800000000000000a0027fffe8a3c51 02 40 20 80     eth0
      00000000000000000000000000000001 01 80 10 80       lo
      @@@FACTS:if lo
      address=00:00:00:00:00:00
      mtu=65536
      operstate=unknown
      type=772
      @@@FACTS:if eth0
      address=08:00:27:8a:3c:51
      mtu=1500
      operstate=up
      type=1
      """
    let facts = Facts.parse(output)
    #expect(dict(facts["default_ipv4"])["address"] == "10.0.2.15")
    #expect(dict(facts["default_ipv4"])["gateway"] == "10.0.2.2")
    #expect(dict(facts["default_ipv4"])["netmask"] == "255.255.255.0")
    #expect(dict(facts["eth0"])["ipv4"]?.dictValue?["broadcast"] == "10.0.2.255")
    #expect(dict(facts["eth0"])["ipv6"] == [["address": "fe80::a00:27ff:fe8a:3c51", "prefix": "64", "scope": "link"]])
    #expect(dict(facts["lo"])["ipv4"]?.dictValue?["netmask"] == "255.0.0.0")
    #expect(dict(facts["lo"])["ipv6"] == [["address": "::1", "prefix": "128", "scope": "host"]])
    #expect(strings(facts["interfaces"]) == ["lo", "eth0", "eth0_1"])
    #expect(strings(facts["all_ipv4_addresses"]) == ["10.0.2.15", "10.0.2.16"])
  }

  @Test func crlfOutputParsesTheSame() throws {
    let text = try fixture("trusty.txt")
    let facts = Facts.parse(text), crlf = Facts.parse(text.replacingOccurrences(of: "\n", with: "\r\n"))
    for key in ["distribution_release", "default_ipv4", "docker0", "mounts", "memtotal_mb", "processor", "env"] {
      #expect(crlf[key] == facts[key], "\(key)")
    }
  }

  @Test func emptyOutputGivesNoNetworkAndNoCrash() {
    let facts = Facts.parse("")
    #expect(facts["interfaces"] == nil)
    #expect(facts["system"] == "Linux")
    #expect(Facts.parse("garbage\n@@@FACTS:kv\nno equals\n@@@FACTS:file /proc/cpuinfo\n:\n")["processor"] == .list([]))
  }

  #if os(Linux)
    /// The script as embedded runs under this machine's sh and parses to something sensible.
    @Test func scriptRunsLocally() async throws {
      let result = try await LocalTransport().run(Facts.script)
      #expect(result.exitStatus == 0)
      #expect(result.stderrText == "")
      let facts = Facts.parse(result.stdoutText)
      #expect(facts["system"] == "Linux")
      #expect(facts["os_family"]?.stringValue?.isEmpty == false)
      #expect(strings(facts["interfaces"]).contains("lo"))
      #expect((int(facts["memtotal_mb"]) ?? 0) > 0)
      #expect((int(facts["processor_vcpus"]) ?? 0) > 0)
      #expect(dict(facts["date_time"])["epoch"] != nil)
      #expect(facts["user_uid"] != nil)
    }
  #endif
}
