// recover_pool() lives with Filesystem::recover in fs/filesystem.cc, which
// needs the core's internals; this file keeps the recovery entry point's
// documentation next to its header.
#include "fs/recovery.h"
