#ifndef PROVISION_CLIBYAML_SHIM_H
#define PROVISION_CLIBYAML_SHIM_H
#include <yaml.h>
#endif
