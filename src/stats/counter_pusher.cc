#include "stats/counter_pusher.h"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace lmover {

CounterPusher::CounterPusher(std::string server, std::string metric_prefix, std::chrono::milliseconds interval,
                             CounterSource source, std::chrono::milliseconds final_wait)
    : client_(server),
      prefix_(std::move(metric_prefix)),
      interval_(interval),
      final_wait_(final_wait),
      source_(std::move(source)),
      thread_([this] { loop(); }) {}

CounterPusher::~CounterPusher() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

std::string CounterPusher::key(const std::string& prefix, const CounterValue& c) {
  return prefix + "." + metric_element(c.node) + "." + c.pass + "." + c.name;
}

bool CounterPusher::push(const std::string& k, uint64_t count) {
  KeyState& s = keys_[k];
  if (count <= s.sent && !s.unsure) return true;
  for (int attempt = 0; attempt < 10; ++attempt) {
    auto current = client_.read(k);
    if (!current) return false;
    if (s.unsure) {
      if (current->value == s.unsure_sum) s.sent = s.unsure_count;  // it landed after all
      s.unsure = false;
    }
    if (count <= s.sent) return true;
    uint64_t sum = current->value + (count - s.sent);
    switch (client_.store(k, sum, current->cas)) {
      case MemcachedCounters::Store::kStored: s.sent = count; return true;
      case MemcachedCounters::Store::kConflict: continue;  // another writer: read again
      case MemcachedCounters::Store::kFailed:
        s = KeyState{s.sent, sum, count, true};
        return false;
    }
  }
  return false;
}

bool CounterPusher::push_once() {
  for (const CounterValue& c : source_()) {
    if (!nodes_known_[c.node]) {
      if (!client_.remember(prefix_ + ".nodes", metric_element(c.node))) return false;
      nodes_known_[c.node] = true;
    }
    if (!push(key(prefix_, c), c.value)) return false;
  }
  return true;
}

namespace {
constexpr std::chrono::milliseconds kFirstRetry{200};
}  // namespace

void CounterPusher::push_rest(bool was_failing) {
  auto give_up = std::chrono::steady_clock::now() + (was_failing ? std::chrono::milliseconds(0) : final_wait_);
  while (failing_ && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(kFirstRetry);
    push_and_say();
  }
}

bool CounterPusher::push_and_say() {
  bool ok = push_once();
  if (ok && failing_) spdlog::info("memcached at {} answers again: counters caught up", client_.server());
  if (!ok && !failing_) spdlog::warn("{}: counters kept here and pushed when it answers again", client_.last_error());
  failing_ = !ok;
  return ok;
}

std::string CounterPusher::flush() {
  std::lock_guard push_lock(push_mutex_);
  bool was_failing = failing_;
  push_and_say();
  push_rest(was_failing);
  return failing_ ? client_.last_error() + ": counters not pushed yet" : "";
}

void CounterPusher::loop() {
  auto pause = std::chrono::milliseconds(0);  // a first push at once: a memcached that is away is known early
  bool stopping = false, was_failing = false;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, pause, [this] { return stopping_; });
      stopping = stopping_;
    }
    std::lock_guard push_lock(push_mutex_);
    was_failing = failing_;
    bool ok = push_and_say();
    // A failed push is retried soon, then less and less often, up to the interval.
    pause = ok ? interval_ : was_failing ? std::min(interval_, pause * 2) : kFirstRetry;
    if (stopping) break;
  }
  // The end of the run: what is left goes out. A memcached that just stopped answering gets a few
  // more tries (at most final_wait_); one that was already away does not hold up the end of the pass.
  std::lock_guard push_lock(push_mutex_);
  push_rest(was_failing);
  if (failing_) spdlog::warn("{}: the last counters of this run could not be pushed", client_.last_error());
}

}  // namespace lmover
