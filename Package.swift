// swift-tools-version: 6.0
import PackageDescription

let package = Package(
  name: "provision",
  platforms: [.macOS(.v13)],
  products: [
    .executable(name: "provision", targets: ["ProvisionCLI"]),
    .library(name: "Inventory", targets: ["Inventory"]),
    .library(name: "Provision", targets: ["Provision"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // libyaml and libssh2 from the system (`apt install libyaml-dev libssh2-1-dev`,
    // `brew install libyaml libssh2`). Named CLib* so they never clash with Yams' `CYaml`
    // on a case-insensitive file system.
    .systemLibrary(
      name: "CLibYAML", pkgConfig: "yaml-0.1",
      providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]),
    .systemLibrary(
      name: "CLibSSH2", pkgConfig: "libssh2",
      providers: [.apt(["libssh2-1-dev"]), .brew(["libssh2"])]),
    // OpenSSL's libcrypto for Ansible Vault (`apt install libssl-dev`, `brew install openssl@3`).
    .systemLibrary(
      name: "CLibCrypto", pkgConfig: "libcrypto",
      providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]),
    .target(name: "Inventory", dependencies: ["CLibYAML", "CLibCrypto"]),
    .target(name: "Provision", dependencies: ["Inventory", "CLibSSH2", "CLibCrypto"]),
    .executableTarget(
      name: "ProvisionCLI",
      dependencies: [
        "Provision", "Inventory",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]),
    .testTarget(
      name: "InventoryTests", dependencies: ["Inventory"],
      resources: [.copy("Fixtures")]),
    .testTarget(
      name: "ProvisionTests", dependencies: ["Provision", "Inventory"],
      resources: [.copy("Fixtures")]),
    // Against the test hosts from scripts/testbed (root); fails, never skips, without them.
    .testTarget(name: "IntegrationTests", dependencies: ["Provision", "Inventory"], exclude: ["Fixtures"]),
  ]
)
