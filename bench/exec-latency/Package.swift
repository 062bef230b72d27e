// swift-tools-version: 6.0
// Measures exec round trips over one libssh2 session against OpenSSH's client over a
// ControlMaster socket, and connect+auth time, on the project's test hosts. Run it with `./run`.
import PackageDescription

let package = Package(
  name: "ExecLatency",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(name: "provision", path: "../..")
  ],
  targets: [
    .executableTarget(
      name: "ExecLatency",
      dependencies: [
        .product(name: "Provision", package: "provision"),
        .product(name: "Inventory", package: "provision"),
      ])
  ]
)
