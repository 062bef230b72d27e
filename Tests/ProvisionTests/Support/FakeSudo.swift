import Foundation

/// A stand-in `sudo` for tests on machines without sudo or without a password to type.
///
/// It understands `-n`, `-S`, `-p PROMPT`, `-u USER` and `--`. With `-S` it prints the prompt
/// on stderr and reads a line from stdin; `letmein` is right, anything else gets
/// "Sorry, try again." and the prompt again, as sudo does. The user `nopass` is never asked.
/// The command runs with `FAKE_SUDO_USER` set to the user.
enum FakeSudo {
  static let script = """
    #!/bin/sh
    prompt="Password:"; ask=0; user=root
    while [ $# -gt 0 ]; do
      case "$1" in
        -n) shift ;;
        -S) ask=1; shift ;;
        -p) prompt="$2"; shift 2 ;;
        -u) user="$2"; shift 2 ;;
        --) shift; break ;;
        *) break ;;
      esac
    done
    if [ $ask = 1 ] && [ "$user" != nopass ]; then
      tries=0
      while :; do
        printf '%s' "$prompt" >&2
        IFS= read -r pw || exit 1
        [ "$pw" = letmein ] && break
        echo "Sorry, try again." >&2
        tries=$((tries + 1))
        if [ $tries -ge 3 ]; then echo "sudo: 3 incorrect password attempts" >&2; exit 1; fi
      done
    fi
    FAKE_SUDO_USER=$user; export FAKE_SUDO_USER
    exec "$@"

    """

  /// Writes the script as `sudo` into `directory`.
  static func install(in directory: String) throws {
    let path = directory + "/sudo"
    try script.write(toFile: path, atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: path)
  }
}
