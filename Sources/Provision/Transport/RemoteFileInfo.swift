/// Metadata of a file on a host, read in one round trip with its SHA-256.
public struct RemoteFileInfo: Sendable, Equatable {
  /// The kind of file system object.
  public enum FileType: String, Sendable, Equatable {
    case regular, directory, symlink, other
  }
  /// The kind of object at the path (symbolic links are not followed).
  public var type: FileType
  /// Permission bits, such as `0o644`, without the file type bits.
  public var mode: UInt16
  /// The owning user's name, or its number when it has no name.
  public var owner: String
  /// The owning group's name, or its number when it has no name.
  public var group: String
  /// Size in bytes.
  public var size: UInt64
  /// Lower-case hex SHA-256 of a regular file's content; nil for anything else.
  public var sha256: String?

  /// Creates a file description.
  public init(
    type: FileType, mode: UInt16, owner: String, group: String, size: UInt64, sha256: String?
  ) {
    self.type = type
    self.mode = mode
    self.owner = owner
    self.group = group
    self.size = size
    self.sha256 = sha256
  }
}

extension RemoteFileInfo.FileType {
  /// The type in the `st_mode` bits that `stat -c %f` prints.
  init(statMode raw: UInt32) {
    switch raw & 0o170000 {
    case 0o100000: self = .regular
    case 0o040000: self = .directory
    case 0o120000: self = .symlink
    default: self = .other
    }
  }
}
