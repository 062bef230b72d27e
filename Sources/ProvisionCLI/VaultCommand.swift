import ArgumentParser
import Foundation
import Inventory

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `provision vault`: encrypts and decrypts files and strings in Ansible Vault's format, as
/// `ansible-vault` does; either tool reads what the other wrote.
struct VaultCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "vault",
    abstract: "Encrypt, decrypt, view and edit Ansible Vault files, as ansible-vault does.",
    discussion: """
      Without --vault-id or --vault-password-file, the vault password is asked for.
      A --vault-id LABEL@SOURCE other than 'default' writes a version 1.2 vault with that label.

      Examples:
        provision vault encrypt group_vars/all/secrets.yml --vault-password-file ~/.vault_pass
        provision vault view group_vars/all/secrets.yml --vault-id prod@prompt
        provision vault encrypt-string 's3cret' --name db_password --vault-id prod@~/.vault_prod
      """,
    subcommands: [
      VaultEncrypt.self, VaultDecrypt.self, VaultView.self, VaultEdit.self, VaultCreate.self,
      VaultEncryptString.self,
    ])
}

/// The password to encrypt with: the only one given, or the one `--encrypt-vault-id` names.
struct VaultEncryptOptions: ParsableArguments {
  @OptionGroup var vault: VaultOptions

  @Option(
    name: .customLong("encrypt-vault-id"),
    help: "The vault id to encrypt with, when several are given.")
  var encryptVaultID: String?

  func secret() throws -> VaultSecret {
    let secrets = try vault.secrets(promptIfNone: true, newPassword: true)
    if let encryptVaultID {
      guard let secret = secrets.first(where: { $0.vaultID == encryptVaultID }) else {
        printError(
          "error: no password was given for --encrypt-vault-id \(encryptVaultID); the vault ids are "
            + secrets.map(\.vaultID).joined(separator: ", "))
        throw ExitCode(ExitStatus.usage)
      }
      return secret
    }
    guard secrets.count <= 1 else {
      printError(
        "error: the vault ids \(secrets.map(\.vaultID).joined(separator: ", ")) are available to encrypt; "
          + "choose one with --encrypt-vault-id")
      throw ExitCode(ExitStatus.usage)
    }
    guard let secret = secrets.first else {
      printError("error: a vault password is needed to encrypt")
      throw ExitCode(ExitStatus.usage)
    }
    return secret
  }
}

/// `provision vault encrypt`
struct VaultEncrypt: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "encrypt", abstract: "Encrypt files in place, or standard input.")

  @Argument(help: "Files to encrypt; '-' or none for standard input.")
  var files: [String] = []

  @Option(help: "Write here instead of in place; '-' for standard output.")
  var output: String?

  @OptionGroup var options: VaultEncryptOptions

  func validate() throws {
    if output != nil && files.count > 1 {
      throw ValidationError("--output takes one input file at most")
    }
  }

  func run() throws {
    let secret = try options.secret()
    for file in files.isEmpty ? ["-"] : files {
      let plaintext = try VaultFiles.read(file)
      guard !Vault.isEncrypted(plaintext) else {
        throw VaultOptions.fail(VaultError(.alreadyEncrypted, subject: VaultFiles.name(file)))
      }
      let text = try VaultFiles.encrypt(plaintext, with: secret)
      try VaultFiles.write(Array(text.utf8), to: output ?? file)
    }
    if isatty(1) == 1 { printError("Encryption successful") }
  }
}

/// `provision vault decrypt`
struct VaultDecrypt: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "decrypt", abstract: "Decrypt files in place, or standard input.")

  @Argument(help: "Files to decrypt; '-' or none for standard input.")
  var files: [String] = []

  @Option(help: "Write here instead of in place; '-' for standard output.")
  var output: String?

  @OptionGroup var vault: VaultOptions

  func validate() throws {
    if output != nil && files.count > 1 {
      throw ValidationError("--output takes one input file at most")
    }
  }

  func run() throws {
    let secrets = try vault.secrets(promptIfNone: true)
    for file in files.isEmpty ? ["-"] : files {
      let plaintext = try VaultFiles.decrypt(
        try VaultFiles.read(file), file: file, secrets: secrets
      ).plaintext
      try VaultFiles.write(plaintext, to: output ?? file)
    }
    if isatty(1) == 1 { printError("Decryption successful") }
  }
}

/// `provision vault view`
struct VaultView: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "view", abstract: "Print the plaintext of vault files.")

  @Argument(help: "Files to show; '-' or none for standard input.")
  var files: [String] = []

  @OptionGroup var vault: VaultOptions

  func run() throws {
    let secrets = try vault.secrets(promptIfNone: true)
    for file in files.isEmpty ? ["-"] : files {
      let plaintext = try VaultFiles.decrypt(
        try VaultFiles.read(file), file: file, secrets: secrets
      ).plaintext
      FileHandle.standardOutput.write(Data(plaintext))
    }
  }
}

/// `provision vault edit`
struct VaultEdit: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "edit",
    abstract: "Edit a vault file's plaintext in $EDITOR, and encrypt it again if it changed.",
    discussion: """
      The plaintext goes to a file only you can read, in a directory only you can enter, under
      $TMPDIR; it is overwritten and removed afterwards. The file is encrypted again with the
      password and vault id that decrypted it.
      """)

  @Argument(help: "The vault file.")
  var file: String

  @OptionGroup var vault: VaultOptions

  func run() throws {
    let secrets = try vault.secrets(promptIfNone: true)
    let opened = try VaultFiles.decrypt(try VaultFiles.read(file), file: file, secrets: secrets)
    guard let edited = try VaultFiles.edit(opened.plaintext, like: file), edited != opened.plaintext
    else {
      printError("\(file) is unchanged; not encrypted again")
      return
    }
    let text = try VaultFiles.encrypt(edited, with: opened.secret)
    try VaultFiles.write(Array(text.utf8), to: file)
  }
}

/// `provision vault create`
struct VaultCreate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "create", abstract: "Write a new vault file from what you type in $EDITOR.")

  @Argument(help: "The vault file; it must not exist.")
  var file: String

  @OptionGroup var options: VaultEncryptOptions

  func run() throws {
    guard !FileManager.default.fileExists(atPath: file) else {
      printError("error: \(file) exists; use 'provision vault edit \(file)' instead")
      throw ExitCode(ExitStatus.error)
    }
    let secret = try options.secret()
    let directory = (file as NSString).deletingLastPathComponent
    if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
      try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }
    guard let plaintext = try VaultFiles.edit([], like: file) else {
      printError("\(file) was not created")
      return
    }
    let text = try VaultFiles.encrypt(plaintext, with: secret)
    try VaultFiles.write(Array(text.utf8), to: file)
  }
}

/// `provision vault encrypt-string`
struct VaultEncryptString: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "encrypt-string",
    abstract: "Encrypt strings into '!vault |' YAML values to paste into vars files.",
    discussion: """
      Example:
        provision vault encrypt-string 's3cret' --name db_password --vault-password-file ~/.vault_pass
      prints
        db_password: !vault |
                  $ANSIBLE_VAULT;1.1;AES256
                  6332...
      """)

  @Argument(help: "Strings to encrypt; '-' or none reads one from standard input.")
  var strings: [String] = []

  @Option(
    name: [.short, .customLong("name")],
    help: "A variable name for each string, in order; repeatable.")
  var names: [String] = []

  @Option(
    name: .customLong("stdin-name"),
    help: "The variable name for the string read from standard input.")
  var stdinName: String?

  @Flag(name: [.short, .customLong("prompt")], help: "Ask for the string (without echo).")
  var prompt = false

  @Option(help: "Write here instead of to standard output.")
  var output: String?

  @OptionGroup var options: VaultEncryptOptions

  func run() throws {
    var items: [(name: String?, text: [UInt8], source: String)] = []
    let arguments = strings.filter { $0 != "-" }
    if prompt {
      guard let text = Secrets.prompt("String to encrypt (hidden): "), !text.isEmpty else {
        printError("error: the string given at the prompt is empty; nothing to encrypt")
        throw ExitCode(ExitStatus.usage)
      }
      items.append((stdinName, Array(text.utf8), "the prompt"))
    } else if strings.contains("-") || strings.isEmpty || stdinName != nil {
      let text = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
      guard !text.isEmpty else {
        printError("error: standard input is empty; nothing to encrypt")
        throw ExitCode(ExitStatus.usage)
      }
      items.append((stdinName, text, "stdin"))
    }
    for (index, text) in arguments.enumerated() {
      guard !text.isEmpty else {
        printError("error: string #\(index + 1) is empty; nothing to encrypt")
        throw ExitCode(ExitStatus.usage)
      }
      items.append((index < names.count ? names[index] : nil, Array(text.utf8), "the command line"))
    }
    if names.count < arguments.count && !names.isEmpty {
      printError(
        "warning: \(arguments.count) strings and \(names.count) names; the last strings have no name"
      )
    }
    let secret = try options.secret()
    var blocks: [String] = []
    for (index, item) in items.enumerated() {
      if items.count > 1 {
        let what = item.name.map { "variable '\($0)'" } ?? "string #\(index + 1)"
        printError("# the encrypted \(what), from \(item.source)")
      }
      let text = try VaultFiles.encrypt(item.text, with: secret)
      blocks.append(Self.yamlBlock(text, name: item.name))
    }
    try VaultFiles.write(Array((blocks.joined(separator: "\n") + "\n").utf8), to: output ?? "-")
    if isatty(1) == 1 { printError("Encryption successful") }
  }

  /// `NAME: !vault |` and the vault text indented by 10, as ansible-vault prints it.
  static func yamlBlock(_ vaulttext: String, name: String?) -> String {
    let header = (name.map { "\($0): " } ?? "") + "!vault |"
    let lines = vaulttext.split(separator: "\n").map { String(repeating: " ", count: 10) + $0 }
    return ([header] + lines).joined(separator: "\n")
  }
}

/// Reading, writing, encrypting and editing files for `provision vault`.
enum VaultFiles {
  /// How a file is named in messages.
  static func name(_ file: String) -> String { file == "-" ? "standard input" : "'\(file)'" }

  /// A file's bytes, or standard input's for `-`.
  static func read(_ file: String) throws -> [UInt8] {
    if file == "-" { return [UInt8](FileHandle.standardInput.readDataToEndOfFile()) }
    guard let data = FileManager.default.contents(atPath: file) else {
      printError("error: cannot read '\(file)'")
      throw ExitCode(ExitStatus.error)
    }
    return [UInt8](data)
  }

  static func encrypt(_ plaintext: [UInt8], with secret: VaultSecret) throws -> String {
    do {
      return try Vault.encrypt(plaintext, secret: secret, label: secret.vaultID)
    } catch {
      throw VaultOptions.fail(error)
    }
  }

  static func decrypt(
    _ bytes: [UInt8], file: String, secrets: [VaultSecret]
  ) throws -> (plaintext: [UInt8], secret: VaultSecret) {
    do {
      let opened = try Vault.decryptWithSecret(bytes, secrets: secrets)
      return (opened.plaintext, opened.secret)
    } catch {
      var error = error
      error.subject = name(file)
      if file != "-" { error.location = SourceLocation(file: file, line: 1, column: 1) }
      throw VaultOptions.fail(error)
    }
  }

  /// Writes `bytes` to `path` (standard output for `-`) atomically: a temporary file in the same
  /// directory, renamed over it. An existing file keeps its mode and, when allowed, its owner; a
  /// new one gets mode 0600. A symbolic link is followed, so that the link stays a link.
  static func write(_ bytes: [UInt8], to path: String) throws {
    if path == "-" {
      FileHandle.standardOutput.write(Data(bytes))
      return
    }
    let target = (path as NSString).resolvingSymlinksInPath
    var existing = stat()
    let exists = stat(target, &existing) == 0
    let directory = (target as NSString).deletingLastPathComponent
    let base = (target as NSString).lastPathComponent
    var fd: Int32 = -1
    let template = (directory.isEmpty ? "." : directory) + "/.\(base).XXXXXX"
    guard
      let temporary = filling(
        template,
        {
          fd = mkstemp($0)
          return fd >= 0
        })
    else {
      throw failure("cannot create a file next to '\(path)'", errno)
    }
    var ok = fchmod(fd, exists ? existing.st_mode & 0o7777 : 0o600) == 0
    if exists && ok { _ = fchown(fd, existing.st_uid, existing.st_gid) }
    ok = ok && writeAll(fd, bytes) && fsync(fd) == 0
    let writeErrno = errno
    close(fd)
    guard ok, rename(temporary, target) == 0 else {
      let saved = ok ? errno : writeErrno
      unlink(temporary)
      throw failure("cannot write '\(path)'", saved)
    }
  }

  /// Opens `plaintext` in `$EDITOR` (default `vi`) and returns what was saved, or nil when the
  /// editor failed. The file is private (0600 in a 0700 directory), named like `original` so
  /// that the editor picks the right syntax, and is overwritten and removed afterwards.
  static func edit(_ plaintext: [UInt8], like original: String) throws -> [UInt8]? {
    let template = (NSTemporaryDirectory() as NSString).appendingPathComponent(
      "provision-vault.XXXXXX")
    guard let directory = filling(template, { mkdtemp($0) != nil }) else {
      throw failure("cannot create a temporary directory", errno)
    }
    let file = directory + "/" + (original as NSString).lastPathComponent
    defer {
      shred(file)
      rmdir(directory)
    }
    let fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { throw failure("cannot create '\(file)'", errno) }
    let written = writeAll(fd, plaintext)
    close(fd)
    guard written else { throw failure("cannot write '\(file)'", errno) }

    let editor =
      ProcessInfo.processInfo.environment["EDITOR"].flatMap { $0.isEmpty ? nil : $0 } ?? "vi"
    let words = ShellWords.split(editor, comments: false) ?? [editor]
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = words + [file]
    do {
      try process.run()
    } catch {
      printError("error: cannot run the editor '\(editor)': \(error.localizedDescription)")
      throw ExitCode(ExitStatus.error)
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      printError("error: the editor '\(editor)' exited with status \(process.terminationStatus)")
      return nil
    }
    guard let data = FileManager.default.contents(atPath: file) else {
      printError("error: the edited file is gone")
      return nil
    }
    return [UInt8](data)
  }

  /// The path `create` made from a `mkstemp` or `mkdtemp` template, or nil when it failed.
  static func filling(_ template: String, _ create: (UnsafeMutablePointer<CChar>) -> Bool)
    -> String?
  {
    var buffer = Array(template.utf8CString)
    let ok = buffer.withUnsafeMutableBufferPointer { p in p.baseAddress.map(create) ?? false }
    guard ok else { return nil }
    return String(decoding: buffer.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Overwrites a file with zeros, then removes it.
  static func shred(_ path: String) {
    var info = stat()
    if stat(path, &info) == 0, info.st_size > 0 {
      let fd = open(path, O_WRONLY)
      if fd >= 0 {
        _ = writeAll(fd, [UInt8](repeating: 0, count: Int(info.st_size)))
        fsync(fd)
        close(fd)
      }
    }
    unlink(path)
  }

  static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { buffer in
      guard let base = buffer.baseAddress else { return true }
      var offset = 0
      while offset < buffer.count {
        let n = posixWrite(fd, base + offset, buffer.count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return false }
        offset += n
      }
      return true
    }
  }

  static func failure(_ what: String, _ code: Int32) -> ExitCode {
    printError("error: \(what): \(String(cString: strerror(code)))")
    return ExitCode(ExitStatus.error)
  }
}

/// The C library's `write`, which `VaultFiles.write` hides inside that type.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
  write(fd, buffer, count)
}
