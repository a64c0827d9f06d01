// TargetLock: one run per target at a time. Two runs on one DST collide (each removes the other's
// hard-link staging area, a second submitter fails half-way), so every run that writes takes a
// lock first. It is a small file beside DST, `<parent>/.<name>.lmover-lock`, not inside it: a
// file in DST would change the root's ctime on every run and could be copied or deleted by a pass.
// It names its holder (host, pid, command, distributed run id), and stays fresh by heartbeat.
//
// A holder is taken for dead when it ran on this host and its process is gone, or, from another
// host, when the heartbeat is older than a minute; a dead holder's lock is taken over with a
// warning. A dead holder with a distributed run is the exception: its run may still be going on
// the workers, so only `lmover wait --run` for that very run takes the lock.
//
// Where DST is itself a mount point, its parent is usually node-local: the lock then only keeps
// out runs started on the same node.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "fs/unique_fd.h"

namespace lmover {

// `<parent of DST>/.<name of DST>.<suffix>`, for what lives beside a target (its lock, its changelog
// bookmark), keyed by what DST resolves to, so every spelling of it meets at one file.
std::string path_beside(const std::string& dst, const std::string& suffix);

// After `lmover cancel --run RUN`: the lock of `dst` goes if it names RUN and its holder is gone
// (a live holder, RUN's submitter, lets it go itself as it ends). Says what it did, in words.
// Throws FsError when the lock cannot be read or removed.
std::string release_cancelled_lock(const std::string& dst, const std::string& run);

class TargetLock {
 public:
  // Takes the lock of `dst` for `command` ("copy", "sync", "wait", ...). `adopt_run`: the
  // distributed run this command re-attaches to; a lock left by that run is taken over. Throws
  // FsError naming the holder when another live run holds it, or when the lock cannot be made.
  TargetLock(const std::string& dst, const std::string& command, const std::string& adopt_run = "");
  ~TargetLock();
  TargetLock(const TargetLock&) = delete;
  TargetLock& operator=(const TargetLock&) = delete;

  // The distributed run now going on under this lock (so a successor can re-attach to it).
  void set_run(const std::string& run);
  const std::string& path() const { return path_; }
  // Whether the lock stays in place when this process ends: while its distributed run may go on
  // without it.
  void keep(bool on) { keep_ = on; }

 private:
  void write_lock(bool replace);
  void heartbeat();

  std::string path_, command_, run_;
  std::mutex stop_mutex_;
  std::condition_variable stop_signal_;  // wakes the heartbeat at once: a run never waits on it to end
  bool stop_ = false;
  std::atomic<bool> keep_{false};
  std::thread beat_;
};

}  // namespace lmover
