/// The version `provision --version` prints.
public enum ProvisionVersion {
  public static let string = "0.1.0"
}
