// swift-tools-version: 6.0
// A package of its own so that the sanitizer flags and the libFuzzer entry point never reach
// the main package's `swift build`. Build and run it with `scripts/fuzz`.
import PackageDescription

let package = Package(
  name: "ProvisionFuzz",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(name: "provision", path: "..")
  ],
  targets: [
    .executableTarget(
      name: "InventoryFuzzer",
      dependencies: [
        "FuzzerEntry", .product(name: "Inventory", package: "provision"),
        .product(name: "Provision", package: "provision"),
      ]),
    .target(name: "FuzzerEntry"),
  ]
)
