// LustreApi: liblustreapi, opened with dlopen at run time, so that one binary runs on nodes with
// and without a Lustre client and nothing Lustre is needed to build it. Every call lmover makes
// into the library goes through here, with the C signatures of lustre-release's lustreapi.h; only
// documented llapi_* symbols are resolved (the README lists them).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "lustre/layout.h"

namespace lmover {

class LustreApi {
 public:
  // Opens $LMOVER_LUSTREAPI if set, else liblustreapi.so.1, else liblustreapi.so. nullptr if it
  // cannot be opened or lacks a symbol; `why` then says which and the dlerror text.
  static std::unique_ptr<LustreApi> load(std::string* why);
  ~LustreApi();
  LustreApi(const LustreApi&) = delete;
  LustreApi& operator=(const LustreApi&) = delete;

  const std::string& library() const { return library_; }

  // The layout of the open file or directory `fd`. nullopt with errno set when it has none that
  // can be read (ENODATA: a directory without a default layout; ENOTTY: not on Lustre).
  std::optional<Layout> layout_of(int fd) const;

  // Creates `path` (O_CREAT|O_EXCL is added) with `layout` and returns the open fd, or -1 with
  // errno set (EINVAL: the target cannot honour the layout). nullopt layout: the default one.
  int create_file(const std::string& path, int flags, mode_t mode, const std::optional<Layout>& layout) const;

  // Sets the default layout of directory `path` (what `lfs setstripe DIR` does): files later
  // created in it get it. 0, or -1 with errno set.
  int set_default_layout(const std::string& path, const Layout& layout) const;

  // The MDT index that holds the open directory or file `fd`; -1 with errno set on failure.
  int mdt_index(int fd) const;

  // mkdir of `path` on MDT `mdt` (-1: any), striped over `stripes` MDTs (0: a plain directory;
  // -1: all), as `lfs mkdir -i MDT -c STRIPES`; 0, or -1 with errno set.
  int make_dir_on_mdt(const std::string& path, mode_t mode, int mdt, int stripes = 0) const;

 private:
  struct Symbols;
  LustreApi(void* handle, std::string library, std::unique_ptr<Symbols> symbols);
  // A liblustreapi layout built from `layout`; nullptr with errno set when it refuses a value.
  struct llapi_layout* build(const Layout& layout) const;

  void* handle_;
  std::string library_;
  std::unique_ptr<Symbols> sym_;
};

}  // namespace lmover
