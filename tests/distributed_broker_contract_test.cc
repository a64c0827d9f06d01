// The broker seam's promises (src/distributed/broker_contract.h) against the suite's RabbitMQ: the
// same tests the in-process broker passes in unit_tests.
#include "amqp/amqp_session.h"
#include "distributed/broker_contract.h"
#include "distributed_support.h"

namespace lmover {
namespace {

struct RealRabbit {
  static std::unique_ptr<Broker> make() {
    if (test::broker_url().empty()) throw BrokerError("LMOVER_TEST_BROKER is not set: run the suite with scripts/test.sh");
    BrokerAddress address = BrokerAddress::parse(test::broker_url());
    address.load_password("");  // $LMOVER_BROKER_PASSWORD
    return std::make_unique<AmqpBroker>(address);
  }
  static std::string queue(const std::string& name) {
    static const std::string prefix = test::unique_prefix();
    return prefix + "." + name;
  }
};

INSTANTIATE_TYPED_TEST_SUITE_P(RabbitMQ, BrokerContract, RealRabbit);

}  // namespace
}  // namespace lmover
