// The commands that talk to the broker rather than run a pass: worker, wait, status, control,
// broker init; and the broker address as every distributed command builds it.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <string>

#include "cli/run_plan.h"
#include <nlohmann/json.hpp>

#include "amqp/amqp_session.h"
#include "distributed/broker_retry.h"
#include "distributed/submitter.h"
#include "report/pass_stats.h"

namespace lmover {

class Summary;

// Password precedence: the URL (warned about), a private config file, --broker-password-file,
// then $LMOVER_BROKER_PASSWORD.
AmqpBroker broker_for(const BrokerSettings& broker);
// Deletes the queue of a finished run's shared --max-delete budget, if it had one.
void drop_shared_budget(const Broker& broker, const nlohmann::json& spec, const BrokerRetry& retry);

// A submitter's progress callback that keeps `stats` at what the run counted so far (see the body).
// Sets `stats` to the counters of the reports so far (added to what it held before), and
// `pending`, if given, to the tasks not done yet.
Submitter::Progress progress_into(PassStats& stats, std::atomic<int64_t>* pending = nullptr);

// The fatal end of a command: said, and in the summary; `code` becomes kExitFatal.
void record_fatal(Summary& summary, const std::exception& error, int& code);
// "SIGTERM" for SIGTERM, as the summary names the signal that interrupted a run.
std::string signal_name(int sig);

// Prints the summary and writes --json FILE; a failed write raises `code` to at least 1.
void write_summary(Summary& summary, int& code, const std::string& json_file);

}  // namespace lmover
