// swift-tools-version: 6.0
// Measures how fast YAMLLoader reads playbook-like YAML. A package of its own so that the
// benchmark is built in release mode without touching the main package. Run it with `./run`.
import PackageDescription

let package = Package(
  name: "YAMLThroughput",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(name: "provision", path: "../..")
  ],
  targets: [
    .executableTarget(
      name: "YAMLThroughput",
      dependencies: [.product(name: "Inventory", package: "provision")])
  ]
)
