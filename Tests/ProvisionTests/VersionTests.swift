import Testing

@testable import Provision

@Test func versionIsSet() { #expect(!ProvisionVersion.string.isEmpty) }
