#include "lustre/lustre_api.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <vector>

namespace lmover {

// The declarations of lustreapi.h this adapter uses, word for word in their C types. The struct
// is opaque there too.
struct llapi_layout;

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
};

namespace {

constexpr uint32_t kCompUseFirst = 1, kCompUseNext = 3;  // enum llapi_layout_comp_use
constexpr size_t kMaxPoolName = 15;                      // LOV_MAXPOOLNAME

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

std::optional<Layout> LustreApi::layout_of(int fd) const {
  std::unique_ptr<llapi_layout, LayoutDeleter> l(sym_->layout_get_by_fd(fd, 0), LayoutDeleter{sym_->layout_free});
  if (!l) return std::nullopt;
  Layout out;
  out.composite = sym_->layout_is_composite(l.get());
  auto read_current = [&]() {
    LayoutComponent c;
    if (out.composite && sym_->layout_comp_extent_get(l.get(), &c.start, &c.end) != 0) return false;
    sym_->layout_pattern_get(l.get(), &c.pattern);
    if (c.pattern != kPatternMdt) sym_->layout_stripe_count_get(l.get(), &c.stripe_count);
    sym_->layout_stripe_size_get(l.get(), &c.stripe_size);
    char pool[kMaxPoolName + 2] = {};
    if (sym_->layout_pool_name_get(l.get(), pool, sizeof pool) > 0) c.pool = pool;
    out.components.push_back(std::move(c));
    return true;
  };
  if (!out.composite) {
    if (!read_current()) return std::nullopt;
    return out;
  }
  if (sym_->layout_comp_use(l.get(), kCompUseFirst) != 0) return std::nullopt;
  do {
    if (!read_current()) return std::nullopt;
    size_t n = out.components.size();
    if (n > 1 && out.components[n - 1].start < out.components[n - 2].end) {
      // The extents start over: the next FLR mirror. Keep the first one only.
      out.components.pop_back();
      out.mirrors_dropped = true;
      break;
    }
  } while (sym_->layout_comp_use(l.get(), kCompUseNext) == 0);
  return out;
}

llapi_layout* LustreApi::build(const Layout& layout) const {
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
  }
  return l.release();
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

int LustreApi::mdt_index(int fd) const {
  int index = -1;
  int rc = sym_->file_fget_mdtidx(fd, &index);
  if (rc < 0) {
    errno = -rc;  // -errno, as llapi_dir_create_pool below
    return -1;
  }
  return index;
}

int LustreApi::make_dir_on_mdt(const std::string& path, mode_t mode, int mdt, int stripes) const {
  // Pattern 0: the filesystem's default hash for a striped directory.
  int rc = sym_->dir_create_pool(path.c_str(), static_cast<int>(mode), mdt, stripes, 0, nullptr);
  if (rc < 0) {
    errno = -rc;  // liblustreapi returns -errno here
    return -1;
  }
  return 0;
}

}  // namespace lmover
