#ifndef PROVISION_CLIBSSH2_SHIM_H
#define PROVISION_CLIBSSH2_SHIM_H
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <string.h>

// libssh2 defines much of its API as function-like macros, which Swift cannot import.
// Each wrapper below re-exports one of them as a real function.

static inline LIBSSH2_SESSION *cssh_session_init(void) { return libssh2_session_init(); }
static inline int cssh_session_disconnect(LIBSSH2_SESSION *s, const char *why) {
  return libssh2_session_disconnect(s, why);
}
static inline LIBSSH2_CHANNEL *cssh_channel_open_session(LIBSSH2_SESSION *s) {
  return libssh2_channel_open_session(s);
}
static inline int cssh_channel_exec(LIBSSH2_CHANNEL *c, const char *command) {
  return libssh2_channel_exec(c, command);
}
static inline ssize_t cssh_channel_read(LIBSSH2_CHANNEL *c, char *buf, size_t len) {
  return libssh2_channel_read(c, buf, len);
}
static inline ssize_t cssh_channel_read_stderr(LIBSSH2_CHANNEL *c, char *buf, size_t len) {
  return libssh2_channel_read_stderr(c, buf, len);
}
static inline ssize_t cssh_channel_write(LIBSSH2_CHANNEL *c, const char *buf, size_t len) {
  return libssh2_channel_write(c, buf, len);
}
static inline int cssh_channel_request_pty(LIBSSH2_CHANNEL *c, const char *term) {
  return libssh2_channel_request_pty(c, term);
}
static inline int cssh_userauth_publickey_fromfile(LIBSSH2_SESSION *s, const char *user,
                                                   const char *pub, const char *priv,
                                                   const char *passphrase) {
  return libssh2_userauth_publickey_fromfile(s, user, pub, priv, passphrase);
}
static inline int cssh_userauth_password(LIBSSH2_SESSION *s, const char *user, const char *pw) {
  return libssh2_userauth_password(s, user, pw);
}
static inline LIBSSH2_SFTP_HANDLE *cssh_sftp_open(LIBSSH2_SFTP *sftp, const char *path,
                                                  unsigned long flags, long mode) {
  return libssh2_sftp_open(sftp, path, flags, mode);
}
static inline int cssh_sftp_stat(LIBSSH2_SFTP *sftp, const char *path,
                                 LIBSSH2_SFTP_ATTRIBUTES *attrs) {
  return libssh2_sftp_stat(sftp, path, attrs);
}
static inline int cssh_sftp_setstat(LIBSSH2_SFTP *sftp, const char *path,
                                    LIBSSH2_SFTP_ATTRIBUTES *attrs) {
  return libssh2_sftp_setstat(sftp, path, attrs);
}
static inline int cssh_sftp_unlink(LIBSSH2_SFTP *sftp, const char *path) {
  return libssh2_sftp_unlink(sftp, path);
}
static inline int cssh_sftp_close(LIBSSH2_SFTP_HANDLE *h) { return libssh2_sftp_close(h); }
static inline int cssh_sftp_rename(LIBSSH2_SFTP *sftp, const char *from, const char *to) {
  return libssh2_sftp_rename(sftp, from, to);
}
static inline int cssh_sftp_mkdir(LIBSSH2_SFTP *sftp, const char *path, long mode) {
  return libssh2_sftp_mkdir(sftp, path, mode);
}
static inline int cssh_channel_request_pty_size(LIBSSH2_CHANNEL *c, int width, int height) {
  return libssh2_channel_request_pty_size(c, width, height);
}
static inline int cssh_channel_setenv(LIBSSH2_CHANNEL *c, const char *name, const char *value) {
  return libssh2_channel_setenv(c, name, value);
}
static inline unsigned long cssh_channel_window_write(LIBSSH2_CHANNEL *c) {
  return libssh2_channel_window_write(c);
}
static inline int cssh_channel_flush(LIBSSH2_CHANNEL *c) { return libssh2_channel_flush(c); }
static inline LIBSSH2_CHANNEL *cssh_channel_direct_tcpip(LIBSSH2_SESSION *s, const char *host,
                                                         int port) {
  return libssh2_channel_direct_tcpip(s, host, port);
}
/// The text of the session's last error, or "" when there is none; libssh2 keeps ownership.
static inline const char *cssh_session_last_error_message(LIBSSH2_SESSION *s) {
  char *message = NULL;
  int length = 0;
  libssh2_session_last_error(s, &message, &length, 0);
  return message != NULL ? message : "";
}

#endif
