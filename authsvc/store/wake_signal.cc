#include "authsvc/store/wake_signal.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>
#include <vector>

namespace authsvc {

WakeSignal::WakeSignal() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (fd_ < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
}

WakeSignal::~WakeSignal() { close(fd_); }

void WakeSignal::raise() noexcept {
  std::uint64_t one = 1;
  // Only fails if the counter would overflow: it is raised then anyway.
  [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
}

void WakeSignal::clear() noexcept {
  std::uint64_t value = 0;
  [[maybe_unused]] ssize_t n = read(fd_, &value, sizeof value);  // EAGAIN: was not raised
}

bool WakeSignal::wait_for(std::chrono::milliseconds timeout) const {
  return wait_readable(&fd_, 1, timeout) == 0;
}

int wait_readable(const int* fds, int count, std::chrono::milliseconds timeout) {
  std::vector<pollfd> polled(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) polled[static_cast<std::size_t>(i)] = {fds[i], POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    int ms = left.count() > 0 ? static_cast<int>(left.count()) : 0;
    int ready = poll(polled.data(), polled.size(), ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "poll");
    }
    for (int i = 0; i < count; ++i) {
      if (polled[static_cast<std::size_t>(i)].revents != 0) return i;
    }
    if (ms == 0) return -1;
  }
}

}  // namespace authsvc
