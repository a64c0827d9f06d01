// MDC request slots: a Lustre client keeps at most mdc.*.max_rpcs_in_flight metadata requests in
// flight to each MDT (default 8), of them at most max_mod_rpcs_in_flight modifying (default 7).
// Threads past those slots wait inside the client, not on the servers: more threads then add
// nothing. lmover reads the slots of the filesystems its roots are on and says how its threads
// compare (-v), and warns once when they exceed what the slots can serve.
#pragma once

#include <optional>
#include <string>

#include "lustre/lustre_api.h"

namespace lmover {

struct MdcSlots {
  std::string fsname;
  unsigned mdts = 0;      // MDTs this client has an MDC for
  unsigned rpcs = 0;      // max_rpcs_in_flight per MDT (the smallest, if they differ)
  unsigned mod_rpcs = 0;  // max_mod_rpcs_in_flight per MDT (the smallest)
};

// The client's sysfs tree: $LMOVER_LUSTRE_SYSFS (for tests), else /sys/fs/lustre.
std::string lustre_sysfs_root();

// The slots of the MDCs of mount `instance` of filesystem `fsname` under `sysfs_root`/mdc
// (entries FSNAME-MDTxxxx-mdc-INSTANCE). nullopt: none found or none readable.
std::optional<MdcSlots> read_mdc_slots(const std::string& sysfs_root, const std::string& fsname,
                                       const std::string& instance);

// What to say about `threads` against the slots of the source (it is read: any request) and of
// the target (it is written: modifying requests); nullopt for a root not on Lustre.
struct SlotAdvice {
  std::string detail;   // for -v
  std::string warning;  // "" when the slots serve every thread
};
SlotAdvice advise_slots(const std::optional<MdcSlots>& src, const std::optional<MdcSlots>& dst, unsigned threads);

// Reads the slots of both roots (llapi_get_fsname_instance, then sysfs) and logs the advice: the
// detail at debug (-v), the warning once per process and filesystem pair.
void say_mdc_slots(const LustreApi& api, const std::string& src, const std::string& dst, unsigned threads);

}  // namespace lmover
