#include "lustre/lustre_api.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace lmover {

// The declarations of lustreapi.h and lustre_user.h (UAPI) this adapter uses, word for word in
// their C types. struct llapi_layout is opaque there too.
struct llapi_layout;

extern "C" {
struct lu_fid {
  uint64_t f_seq;
  uint32_t f_oid;
  uint32_t f_ver;
};
struct hsm_extent {
  uint64_t offset;
  uint64_t length;
} __attribute__((packed));
struct hsm_user_state {
  uint32_t hus_states;
  uint32_t hus_archive_id;
  uint32_t hus_in_progress_state;
  uint32_t hus_in_progress_action;
  struct hsm_extent hus_in_progress_location;
  char hus_extended_info[];
};
struct hsm_request {
  uint32_t hr_action;
  uint32_t hr_archive_id;
  uint64_t hr_flags;
  uint32_t hr_itemcount;
  uint32_t hr_data_len;
};
struct hsm_user_item {
  struct lu_fid hui_fid;
  struct hsm_extent hui_extent;
} __attribute__((packed));
struct hsm_user_request {
  struct hsm_request hur_request;
  struct hsm_user_item hur_user_item[];
} __attribute__((packed));
struct lmv_user_mds_data {
  struct lu_fid lum_fid;
  uint32_t lum_padding;
  uint32_t lum_mds;
} __attribute__((packed));
struct lmv_user_md_v1 {
  uint32_t lum_magic;
  int32_t lum_stripe_count;
  uint32_t lum_stripe_offset;
  uint32_t lum_hash_type;
  uint32_t lum_type;
  uint8_t lum_max_inherit;
  uint8_t lum_max_inherit_rr;
  uint16_t lum_padding1;
  uint32_t lum_padding2;
  uint32_t lum_padding3;
  char lum_pool_name[16];  // LOV_MAXPOOLNAME + 1
  struct lmv_user_mds_data lum_objects[];
} __attribute__((packed));
struct llapi_resync_comp {
  uint64_t lrc_start;
  uint64_t lrc_end;
  uint32_t lrc_mirror_id;
  uint32_t lrc_id;
  bool lrc_synced;
};
struct ll_ioc_lease {
  uint32_t lil_mode;
  uint32_t lil_flags;
  uint32_t lil_count;
  uint32_t lil_ids[];
};
}
static_assert(sizeof(hsm_user_item) == 32 && sizeof(hsm_request) == 24 && sizeof(lmv_user_md_v1) == 48);

struct LustreApi::Symbols {
  llapi_layout* (*layout_get_by_fd)(int fd, uint32_t flags);
  llapi_layout* (*layout_alloc)();
  void (*layout_free)(llapi_layout* layout);
  bool (*layout_is_composite)(llapi_layout* layout);
  int (*layout_comp_use)(llapi_layout* layout, uint32_t pos);
  int (*layout_comp_add)(llapi_layout* layout);
  int (*layout_comp_extent_get)(const llapi_layout* layout, uint64_t* start, uint64_t* end);
  int (*layout_comp_extent_set)(llapi_layout* layout, uint64_t start, uint64_t end);
  int (*layout_stripe_count_get)(const llapi_layout* layout, uint64_t* count);
  int (*layout_stripe_count_set)(llapi_layout* layout, uint64_t count);
  int (*layout_stripe_size_get)(const llapi_layout* layout, uint64_t* size);
  int (*layout_stripe_size_set)(llapi_layout* layout, uint64_t size);
  int (*layout_pattern_get)(const llapi_layout* layout, uint64_t* pattern);
  int (*layout_pattern_set)(llapi_layout* layout, uint64_t pattern);
  int (*layout_pool_name_get)(const llapi_layout* layout, char* pool_name, size_t pool_name_len);
  int (*layout_pool_name_set)(llapi_layout* layout, const char* pool_name);
  int (*layout_file_create)(const char* path, int open_flags, int mode, const llapi_layout* layout);
  int (*layout_file_open)(const char* path, int open_flags, mode_t mode, const llapi_layout* layout);
  int (*file_fget_mdtidx)(int fd, int* mdtidx);
  int (*dir_create_pool)(const char* name, int flags, int stripe_offset, int stripe_count, int stripe_pattern,
                         const char* poolname);
  int (*hsm_state_get_fd)(int fd, hsm_user_state* hus);
  int (*get_data_version)(int fd, uint64_t* data_version, uint64_t flags);
  int (*fd2fid)(int fd, lu_fid* fid);
  int (*hsm_import)(const char* dst, int archive, const struct stat* st, unsigned long long stripe_size,
                    int stripe_offset, int stripe_count, int stripe_pattern, char* pool_name, lu_fid* newfid);
  hsm_user_request* (*hsm_user_request_alloc)(int itemcount, int data_len);
  int (*hsm_request)(const char* path, const hsm_user_request* request);
  int (*layout_comp_flags_get)(const llapi_layout* layout, uint32_t* flags);
  int (*layout_comp_flags_set)(llapi_layout* layout, uint32_t flags);
  int (*layout_mirror_id_get)(const llapi_layout* layout, uint32_t* id);
  int (*layout_mirror_count_set)(llapi_layout* layout, uint16_t count);
  int (*layout_merge)(llapi_layout** dst_layout, const llapi_layout* src_layout);
  int (*layout_flags_get)(llapi_layout* layout, uint32_t* flags);
  int (*mirror_find_stale)(llapi_layout* layout, llapi_resync_comp* comp, size_t comp_size, uint16_t* mirror_ids,
                           int ids_nr);
  int (*mirror_resync_many)(int fd, llapi_layout* layout, llapi_resync_comp* comp_array, int comp_size,
                            uint64_t start, uint64_t end);
  int (*lease_set)(int fd, const ll_ioc_lease* data);
  int (*get_fsname_instance)(const char* path, char* fsname, size_t fsname_len, char* instance, size_t instance_len);
};

namespace {

constexpr uint32_t kCompUseFirst = 1, kCompUseNext = 3;  // enum llapi_layout_comp_use
constexpr size_t kMaxPoolName = 15;                      // LOV_MAXPOOLNAME
constexpr uint64_t kDvReadFlush = 1 << 0;                // LL_DV_RD_FLUSH
constexpr uint32_t kHuaRestore = 11;                     // HUA_RESTORE
constexpr uint32_t kFlrStateMask = 0xB, kFlrReadOnly = 0x1;  // LCM_FL_FLR_MASK, LCM_FL_RDONLY: in sync
constexpr uint32_t kLeaseWrite = 0x2, kLeaseUnlock = 0x4;   // enum ll_lease_mode
constexpr uint32_t kLeaseResync = 0x1, kLeaseResyncDone = 0x2;  // enum ll_lease_flags
constexpr size_t kMaxResyncComps = 1024;                   // as lfs mirror resync allows
constexpr uint32_t kLmvMagicV1 = 0x0CD20CD0;             // LMV_MAGIC_V1: a directory's stripes
constexpr uint32_t kLmvUserMagic = 0x0CD30CD0;           // LMV_USER_MAGIC: its default LMV
// lustre_user.h: the ioctls on a directory's LMV, with the struct sizes they are declared with.
constexpr unsigned long kIocLmvGetstripe = _IOWR('f', 241, lmv_user_md_v1);
constexpr unsigned long kIocLmvSetDefaultStripe = _IOWR('f', 246, lmv_user_md_v1);

struct Binding {
  const char* name;
  void** slot;
};

struct LayoutDeleter {
  void (*free_fn)(llapi_layout*);
  void operator()(llapi_layout* l) const { free_fn(l); }
};

}  // namespace

std::unique_ptr<LustreApi> LustreApi::load(std::string* why) {
  std::vector<std::string> candidates;
  if (const char* forced = std::getenv("LMOVER_LUSTREAPI"); forced && *forced) {
    candidates = {forced};
  } else {
    candidates = {"liblustreapi.so.1", "liblustreapi.so"};
  }
  void* handle = nullptr;
  std::string library, errors;
  for (const auto& name : candidates) {
    handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle) {
      library = name;
      break;
    }
    errors += (errors.empty() ? "" : "; ") + std::string(dlerror());
  }
  if (!handle) {
    *why = "cannot load liblustreapi: " + errors;
    return nullptr;
  }
  auto sym = std::make_unique<Symbols>();
  const Binding bindings[] = {
      {"llapi_layout_get_by_fd", reinterpret_cast<void**>(&sym->layout_get_by_fd)},
      {"llapi_layout_alloc", reinterpret_cast<void**>(&sym->layout_alloc)},
      {"llapi_layout_free", reinterpret_cast<void**>(&sym->layout_free)},
      {"llapi_layout_is_composite", reinterpret_cast<void**>(&sym->layout_is_composite)},
      {"llapi_layout_comp_use", reinterpret_cast<void**>(&sym->layout_comp_use)},
      {"llapi_layout_comp_add", reinterpret_cast<void**>(&sym->layout_comp_add)},
      {"llapi_layout_comp_extent_get", reinterpret_cast<void**>(&sym->layout_comp_extent_get)},
      {"llapi_layout_comp_extent_set", reinterpret_cast<void**>(&sym->layout_comp_extent_set)},
      {"llapi_layout_stripe_count_get", reinterpret_cast<void**>(&sym->layout_stripe_count_get)},
      {"llapi_layout_stripe_count_set", reinterpret_cast<void**>(&sym->layout_stripe_count_set)},
      {"llapi_layout_stripe_size_get", reinterpret_cast<void**>(&sym->layout_stripe_size_get)},
      {"llapi_layout_stripe_size_set", reinterpret_cast<void**>(&sym->layout_stripe_size_set)},
      {"llapi_layout_pattern_get", reinterpret_cast<void**>(&sym->layout_pattern_get)},
      {"llapi_layout_pattern_set", reinterpret_cast<void**>(&sym->layout_pattern_set)},
      {"llapi_layout_pool_name_get", reinterpret_cast<void**>(&sym->layout_pool_name_get)},
      {"llapi_layout_pool_name_set", reinterpret_cast<void**>(&sym->layout_pool_name_set)},
      {"llapi_layout_file_create", reinterpret_cast<void**>(&sym->layout_file_create)},
      {"llapi_layout_file_open", reinterpret_cast<void**>(&sym->layout_file_open)},
      {"llapi_file_fget_mdtidx", reinterpret_cast<void**>(&sym->file_fget_mdtidx)},
      {"llapi_dir_create_pool", reinterpret_cast<void**>(&sym->dir_create_pool)},
      {"llapi_hsm_state_get_fd", reinterpret_cast<void**>(&sym->hsm_state_get_fd)},
      {"llapi_get_data_version", reinterpret_cast<void**>(&sym->get_data_version)},
      {"llapi_fd2fid", reinterpret_cast<void**>(&sym->fd2fid)},
      {"llapi_hsm_import", reinterpret_cast<void**>(&sym->hsm_import)},
      {"llapi_hsm_user_request_alloc", reinterpret_cast<void**>(&sym->hsm_user_request_alloc)},
      {"llapi_hsm_request", reinterpret_cast<void**>(&sym->hsm_request)},
      {"llapi_layout_comp_flags_get", reinterpret_cast<void**>(&sym->layout_comp_flags_get)},
      {"llapi_layout_comp_flags_set", reinterpret_cast<void**>(&sym->layout_comp_flags_set)},
      {"llapi_layout_mirror_id_get", reinterpret_cast<void**>(&sym->layout_mirror_id_get)},
      {"llapi_layout_mirror_count_set", reinterpret_cast<void**>(&sym->layout_mirror_count_set)},
      {"llapi_layout_merge", reinterpret_cast<void**>(&sym->layout_merge)},
      {"llapi_layout_flags_get", reinterpret_cast<void**>(&sym->layout_flags_get)},
      {"llapi_mirror_find_stale", reinterpret_cast<void**>(&sym->mirror_find_stale)},
      {"llapi_mirror_resync_many", reinterpret_cast<void**>(&sym->mirror_resync_many)},
      {"llapi_lease_set", reinterpret_cast<void**>(&sym->lease_set)},
      {"llapi_get_fsname_instance", reinterpret_cast<void**>(&sym->get_fsname_instance)},
  };
  for (const Binding& b : bindings) {
    *b.slot = dlsym(handle, b.name);
    if (!*b.slot) {
      *why = library + " lacks " + b.name + " (" + dlerror() + ")";
      dlclose(handle);
      return nullptr;
    }
  }
  return std::unique_ptr<LustreApi>(new LustreApi(handle, library, std::move(sym)));
}

LustreApi::LustreApi(void* handle, std::string library, std::unique_ptr<Symbols> symbols)
    : handle_(handle), library_(std::move(library)), sym_(std::move(symbols)) {}

LustreApi::~LustreApi() { dlclose(handle_); }

void* LustreApi::optional_symbol(const char* name) const { return dlsym(handle_, name); }

std::optional<Layout> LustreApi::layout_of(int fd) const {
  std::unique_ptr<llapi_layout, LayoutDeleter> l(sym_->layout_get_by_fd(fd, 0), LayoutDeleter{sym_->layout_free});
  if (!l) return std::nullopt;
  Layout out;
  out.composite = sym_->layout_is_composite(l.get());
  uint32_t last_mirror_id = 0;
  auto read_current = [&]() {
    LayoutComponent c;
    if (out.composite && sym_->layout_comp_extent_get(l.get(), &c.start, &c.end) != 0) return false;
    sym_->layout_pattern_get(l.get(), &c.pattern);
    if (c.pattern != kPatternMdt) sym_->layout_stripe_count_get(l.get(), &c.stripe_count);
    sym_->layout_stripe_size_get(l.get(), &c.stripe_size);
    char pool[kMaxPoolName + 2] = {};
    // 0 on success (liblustreapi_layout.c, llapi_layout_pool_name_get(3)); "" when it has none.
    if (sym_->layout_pool_name_get(l.get(), pool, sizeof pool) == 0) c.pool = pool;
    if (out.composite) {
      // Mirror ids are the filesystem's (they need not be 1, 2, ...): what counts is where one
      // mirror's components end and the next one's begin. A file without mirrors has id 0 throughout.
      uint32_t mirror_id = 0, flags = 0;
      if (sym_->layout_mirror_id_get(l.get(), &mirror_id) != 0 || sym_->layout_comp_flags_get(l.get(), &flags) != 0) return false;
      if (!out.components.empty()) {
        c.mirror = out.components.back().mirror + (mirror_id != last_mirror_id ? 1 : 0);
      }
      last_mirror_id = mirror_id;
      c.flags = flags & kCopiedCompFlags;
    }
    out.components.push_back(std::move(c));
    return true;
  };
  if (!out.composite) {
    if (!read_current()) return std::nullopt;
    // liblustreapi answers a directory without a default layout (ENODATA) with a layout of
    // defaults (llapi_layout_alloc): that is no layout of its own, and copying it would give every
    // target directory one.
    const LayoutComponent& c = out.components.front();
    if (c.pattern == kLayoutDefault && c.stripe_count == kLayoutDefault && c.stripe_size == kLayoutDefault &&
        c.pool.empty()) {
      errno = ENODATA;
      return std::nullopt;
    }
    return out;
  }
  if (sym_->layout_comp_use(l.get(), kCompUseFirst) != 0) return std::nullopt;
  do {
    if (!read_current()) return std::nullopt;
  } while (sym_->layout_comp_use(l.get(), kCompUseNext) == 0);
  if (out.mirror_count() == 1) {
    for (auto& c : out.components) c.flags = 0;  // mirror flags mean nothing without mirrors
  }
  return out;
}

llapi_layout* LustreApi::build(const Layout& layout) const {
  if (layout.mirror_count() > 1) return build_mirrored(layout);
  std::unique_ptr<llapi_layout, LayoutDeleter> l(sym_->layout_alloc(), LayoutDeleter{sym_->layout_free});
  if (!l) return nullptr;
  bool first = true;
  for (const LayoutComponent& c : layout.components) {
    if (!first && sym_->layout_comp_add(l.get()) != 0) return nullptr;
    first = false;
    if (layout.composite && sym_->layout_comp_extent_set(l.get(), c.start, c.end) != 0) return nullptr;
    if (sym_->layout_pattern_set(l.get(), c.pattern) != 0) return nullptr;
    if (c.pattern != kPatternMdt && sym_->layout_stripe_count_set(l.get(), c.stripe_count) != 0) return nullptr;
    if (sym_->layout_stripe_size_set(l.get(), c.stripe_size) != 0) return nullptr;
    if (!c.pool.empty() && sym_->layout_pool_name_set(l.get(), c.pool.c_str()) != 0) return nullptr;
    if (c.flags && sym_->layout_comp_flags_set(l.get(), c.flags) != 0) return nullptr;
  }
  return l.release();
}

llapi_layout* LustreApi::build_mirrored(const Layout& layout) const {
  // As `lfs mirror create` builds one: each mirror a layout of its own, merged one after the
  // other (llapi_layout_merge gives each its mirror id), then the header's mirror count.
  llapi_layout* merged = nullptr;
  auto keep = [&](llapi_layout* l) { return std::unique_ptr<llapi_layout, LayoutDeleter>(l, LayoutDeleter{sym_->layout_free}); };
  auto result = keep(nullptr);
  for (uint32_t m = 0; m < layout.mirror_count(); ++m) {
    Layout one{{}, true};
    for (const LayoutComponent& c : layout.components) {
      if (c.mirror != m) continue;
      one.components.push_back(c);
      one.components.back().mirror = 0;  // a layout of one mirror
    }
    auto part = keep(build(one));
    if (!part) return nullptr;
    merged = result.release();
    int rc = sym_->layout_merge(&merged, part.get());
    result = keep(merged);
    if (rc != 0) return nullptr;
  }
  if (!result || sym_->layout_mirror_count_set(result.get(), static_cast<uint16_t>(layout.mirror_count())) != 0) return nullptr;
  return result.release();
}

int LustreApi::resync_mirrors(int* fd) const {
  int rw = open(("/proc/self/fd/" + std::to_string(*fd)).c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (rw < 0) return errno;
  close(*fd);
  *fd = rw;
  std::unique_ptr<llapi_layout, LayoutDeleter> l(sym_->layout_get_by_fd(rw, 0), LayoutDeleter{sym_->layout_free});
  if (!l) return errno;
  uint32_t state = 0;
  if (sym_->layout_flags_get(l.get(), &state) != 0) return errno;
  if ((state & kFlrStateMask) == 0 || (state & kFlrStateMask) == kFlrReadOnly) return 0;  // no mirrors, or in sync
  std::vector<llapi_resync_comp> stale(kMaxResyncComps);
  int count = sym_->mirror_find_stale(l.get(), stale.data(), stale.size(), nullptr, 0);
  if (count < 0) return -count;
  if (count == 0) return 0;
  // -errno conventions here (liblustreapi_lease.c, liblustreapi_layout.c); EALREADY: the
  // resync intent is already in place, as lfs accepts it.
  ll_ioc_lease intent{kLeaseWrite, kLeaseResync, 0};
  if (int rc = sym_->lease_set(rw, &intent); rc < 0 && rc != -EALREADY) return -rc;
  uint64_t start = stale[0].lrc_start, end = stale[0].lrc_end;
  for (int i = 1; i < count; ++i) {
    start = std::min(start, stale[i].lrc_start);
    end = std::max(end, stale[i].lrc_end);
  }
  int synced = sym_->mirror_resync_many(rw, l.get(), stale.data(), count, start, end);
  // The lease goes back whatever happened, naming the components now in sync (none on failure).
  std::vector<char> buf(sizeof(ll_ioc_lease) + sizeof(uint32_t) * static_cast<size_t>(count));
  auto* done = reinterpret_cast<ll_ioc_lease*>(buf.data());
  *done = ll_ioc_lease{kLeaseUnlock, kLeaseResyncDone, 0};
  for (int i = 0; synced == 0 && i < count; ++i) done->lil_ids[done->lil_count++] = stale[i].lrc_id;
  int given_back = sym_->lease_set(rw, done);
  if (synced < 0) return -synced;
  if (given_back < 0) return -given_back;
  return given_back == 0 ? EBUSY : 0;  // 0: the lease was lost to another opener meanwhile
}

int LustreApi::create_file(const std::string& path, int flags, mode_t mode, const std::optional<Layout>& layout) const {
  flags |= O_CREAT | O_EXCL;
  if (!layout || layout->components.empty()) return sym_->layout_file_create(path.c_str(), flags, static_cast<int>(mode), nullptr);
  std::unique_ptr<llapi_layout, LayoutDeleter> l(build(*layout), LayoutDeleter{sym_->layout_free});
  if (!l) return -1;
  return sym_->layout_file_create(path.c_str(), flags, static_cast<int>(mode), l.get());
}

int LustreApi::set_default_layout(const std::string& path, const Layout& layout) const {
  std::unique_ptr<llapi_layout, LayoutDeleter> l(build(layout), LayoutDeleter{sym_->layout_free});
  if (!l) return -1;
  int fd = sym_->layout_file_open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, l.get());
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

std::optional<std::pair<std::string, std::string>> LustreApi::fsname_instance(const std::string& path) const {
  char fsname[64] = {}, instance[64] = {};  // liblustreapi.c: up to 8 + 40 characters
  int rc = sym_->get_fsname_instance(path.c_str(), fsname, sizeof fsname, instance, sizeof instance);
  if (rc < 0) {
    errno = -rc;  // 0 or -errno (liblustreapi.c)
    return std::nullopt;
  }
  return std::make_pair(std::string(fsname), std::string(instance));
}

int LustreApi::mdt_index(int fd) const {
  int index = -1;
  int rc = sym_->file_fget_mdtidx(fd, &index);
  if (rc < 0) {
    errno = -rc;  // -errno, as llapi_dir_create_pool below
    return -1;
  }
  return index;
}

int LustreApi::make_dir_on_mdt(const std::string& path, mode_t mode, int mdt, int stripes, uint32_t hash_type) const {
  // The pattern argument is the hash type (a union in struct llapi_stripe_param); 0: the
  // filesystem's default hash for a striped directory.
  int rc = sym_->dir_create_pool(path.c_str(), static_cast<int>(mode), mdt, stripes, static_cast<int>(hash_type), nullptr);
  if (rc < 0) {
    errno = -rc;  // liblustreapi returns -errno here
    return -1;
  }
  return 0;
}

std::string Fid::text() const { return fmt::format("[{:#x}:{:#x}:{:#x}]", seq, oid, ver); }

std::string HsmState::describe() const {
  static constexpr std::pair<uint32_t, const char*> kNames[] = {
      {kExists, "exists"}, {kDirty, "dirty"}, {kReleased, "released"}, {kArchived, "archived"},
      {0x10, "norelease"}, {0x20, "noarchive"}, {kLost, "lost"}};
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (states & bit) out += (out.empty() ? "" : ",") + std::string(name);
  }
  return out.empty() ? "none" : out;
}

std::string DirLayout::describe() const {
  static constexpr const char* kHashes[] = {"none", "all_char", "fnv_1a_64", "crush", "crush2"};
  uint32_t type = hash_type & 0xffff;
  std::string out = fmt::format("count={} mdt={} hash={}", stripe_count, static_cast<int32_t>(stripe_offset),
                                type < std::size(kHashes) ? kHashes[type] : std::to_string(type));
  if (max_inherit) out += fmt::format(" max_inherit={}", max_inherit);
  if (max_inherit_rr) out += fmt::format(" max_inherit_rr={}", max_inherit_rr);
  if (!pool.empty()) out += " pool=" + pool;
  return out;
}

std::optional<DirLayout> LustreApi::dir_layout_of(int fd, bool default_lmv) const {
  // As liblustreapi_pfind.c asks: the magic says which LMV, lum_stripe_count how many stripes the
  // buffer holds; E2BIG returns the count needed.
  int32_t room = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::vector<char> buf(sizeof(lmv_user_md_v1) + sizeof(lmv_user_mds_data) * static_cast<size_t>(room));
    auto* lum = reinterpret_cast<lmv_user_md_v1*>(buf.data());
    lum->lum_magic = default_lmv ? kLmvUserMagic : kLmvMagicV1;
    lum->lum_stripe_count = room;
    if (ioctl(fd, kIocLmvGetstripe, lum) < 0) {
      if (errno == E2BIG && !default_lmv && lum->lum_stripe_count > room) {
        room = lum->lum_stripe_count;
        continue;
      }
      if (errno == EOPNOTSUPP || errno == EINVAL) errno = ENOTTY;
      return std::nullopt;
    }
    if (lum->lum_magic != (default_lmv ? kLmvUserMagic : kLmvMagicV1)) {  // foreign LMV: nothing to copy
      errno = ENODATA;
      return std::nullopt;
    }
    DirLayout out;
    out.stripe_count = lum->lum_stripe_count;
    out.stripe_offset = lum->lum_stripe_offset;
    out.hash_type = lum->lum_hash_type;
    if (default_lmv) {
      out.max_inherit = lum->lum_max_inherit;
      out.max_inherit_rr = lum->lum_max_inherit_rr;
      out.pool.assign(lum->lum_pool_name, strnlen(lum->lum_pool_name, sizeof lum->lum_pool_name));
    } else if (out.stripe_count <= 1) {
      errno = ENODATA;  // one stripe: a plain directory
      return std::nullopt;
    }
    return out;
  }
  errno = E2BIG;
  return std::nullopt;
}

int LustreApi::set_default_dir_layout(int fd, const DirLayout& layout) const {
  lmv_user_md_v1 lum{};
  lum.lum_magic = kLmvUserMagic;
  lum.lum_stripe_count = layout.stripe_count;
  lum.lum_stripe_offset = layout.stripe_offset;
  lum.lum_hash_type = layout.hash_type;
  lum.lum_max_inherit = layout.max_inherit;
  lum.lum_max_inherit_rr = layout.max_inherit_rr;
  std::snprintf(lum.lum_pool_name, sizeof lum.lum_pool_name, "%s", layout.pool.c_str());
  return ioctl(fd, kIocLmvSetDefaultStripe, &lum) < 0 ? -1 : 0;
}

std::optional<HsmState> LustreApi::hsm_state(int fd) const {
  // The kernel copies the fixed part; room for extended info all the same.
  alignas(hsm_user_state) char buf[sizeof(hsm_user_state) + 256] = {};
  auto* hus = reinterpret_cast<hsm_user_state*>(buf);
  int rc = sym_->hsm_state_get_fd(fd, hus);  // 0 or -errno (liblustreapi_hsm.c)
  if (rc != 0) {
    errno = -rc;
    return std::nullopt;
  }
  return HsmState{hus->hus_states, hus->hus_archive_id};
}

std::optional<uint64_t> LustreApi::data_version(int fd, bool flush) const {
  uint64_t dv = 0;
  int rc = sym_->get_data_version(fd, &dv, flush ? kDvReadFlush : 0);  // 0 or -errno (liblustreapi_swap.c)
  if (rc != 0) {
    errno = -rc;
    return std::nullopt;
  }
  if (dv == 0) {  // "zero if no objects are initialized for this file" (llapi_get_data_version(3))
    errno = ENODATA;
    return std::nullopt;
  }
  return dv;
}

std::optional<Fid> LustreApi::fid_of(int fd) const {
  lu_fid fid{};
  int rc = sym_->fd2fid(fd, &fid);  // 0 or -errno (liblustreapi_fid.c)
  if (rc != 0) {
    errno = -rc;
    return std::nullopt;
  }
  return Fid{fid.f_seq, fid.f_oid, fid.f_ver};
}

int LustreApi::hsm_import(const std::string& path, uint32_t archive, const struct stat& st,
                          const std::optional<Layout>& layout, Fid* made) const {
  // llapi_hsm_import takes the old striping arguments (0 / -1: the filesystem's default).
  unsigned long long stripe_size = 0;
  int stripe_count = 0;
  std::string pool;
  if (layout && !layout->components.empty()) {
    const LayoutComponent& c = layout->components.front();
    if (c.stripe_size != kLayoutDefault) stripe_size = c.stripe_size;
    if (c.stripe_count == kLayoutWide) stripe_count = -1;
    else if (c.stripe_count != kLayoutDefault && c.pattern != kPatternMdt) stripe_count = static_cast<int>(c.stripe_count);
    pool = c.pool;
  }
  lu_fid fid{};
  int rc = sym_->hsm_import(path.c_str(), static_cast<int>(archive), &st, stripe_size, -1, stripe_count, 0,
                            pool.empty() ? nullptr : pool.data(), &fid);  // 0 or negative errno
  if (rc != 0) {
    errno = rc < 0 ? -rc : EIO;
    return -1;
  }
  *made = Fid{fid.f_seq, fid.f_oid, fid.f_ver};
  return 0;
}

int LustreApi::hsm_restore(const std::string& fs_path, const std::vector<Fid>& fids) const {
  std::unique_ptr<hsm_user_request, decltype(&std::free)> req(sym_->hsm_user_request_alloc(static_cast<int>(fids.size()), 0),
                                                              &std::free);  // "should be freed with free()"
  if (!req) {
    errno = ENOMEM;
    return -1;
  }
  req->hur_request.hr_action = kHuaRestore;
  req->hur_request.hr_archive_id = 0;
  req->hur_request.hr_flags = 0;
  req->hur_request.hr_itemcount = static_cast<uint32_t>(fids.size());
  req->hur_request.hr_data_len = 0;
  for (size_t i = 0; i < fids.size(); ++i) {
    // Whole files, as `lfs hsm_restore` asks (offset 0, length -1). Packed: assigned, not bound.
    req->hur_user_item[i].hui_fid = lu_fid{fids[i].seq, fids[i].oid, fids[i].ver};
    req->hur_user_item[i].hui_extent = hsm_extent{0, ~0ULL};
  }
  int rc = sym_->hsm_request(fs_path.c_str(), req.get());  // 0 or -errno
  if (rc != 0) {
    errno = -rc;
    return -1;
  }
  return 0;
}

}  // namespace lmover
