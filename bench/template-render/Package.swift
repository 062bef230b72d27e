// swift-tools-version: 6.0
// Measures template rendering and `when` evaluation. A package of its own so that the benchmark
// is built in release mode without touching the main package. Run it with `./run`.
import PackageDescription

let package = Package(
  name: "TemplateRender",
  platforms: [.macOS(.v13)],
  dependencies: [
    .package(name: "provision", path: "../..")
  ],
  targets: [
    .executableTarget(
      name: "TemplateRender",
      dependencies: [
        .product(name: "Provision", package: "provision"),
        .product(name: "Inventory", package: "provision"),
      ])
  ]
)
