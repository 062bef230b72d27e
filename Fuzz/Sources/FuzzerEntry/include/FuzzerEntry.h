#ifndef PROVISION_FUZZER_ENTRY_H
#define PROVISION_FUZZER_ENTRY_H
// Nothing to import: the target exists for the `main` in FuzzerEntry.c.
#endif
