#ifndef PROVISION_CLIBCRYPTO_SHIM_H
#define PROVISION_CLIBCRYPTO_SHIM_H
// OpenSSL's libcrypto, for Ansible Vault: PBKDF2-HMAC-SHA256, AES-256-CTR, HMAC-SHA256 and
// random bytes. Only functions that are neither macros nor deprecated in OpenSSL 3 are used,
// so Swift imports them directly and no wrappers are needed.
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#endif
