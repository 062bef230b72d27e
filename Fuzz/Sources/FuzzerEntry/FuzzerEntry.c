#include <stddef.h>
#include <stdint.h>

// SwiftPM links an executable with `main` as an alias of `<Target>_main`, a symbol Swift emits
// only for top-level code or `@main`; a fuzzer has neither, since libFuzzer owns `main`. This
// defines that symbol and hands control to libFuzzer's driver, which then behaves exactly as
// libFuzzer's own `main` (same flags, corpus directories and exit codes).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *, size_t));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int InventoryFuzzer_main(int argc, char **argv) {
  return LLVMFuzzerRunDriver(&argc, &argv, LLVMFuzzerTestOneInput);
}
