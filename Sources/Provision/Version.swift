/// The version of provision.
public enum ProvisionVersion {
  public static let string = "0.1.0"
  /// The ansible-core release whose playbook language provision follows, for `ansible_version`.
  public static let ansibleCompatible = "2.17.0"
}
