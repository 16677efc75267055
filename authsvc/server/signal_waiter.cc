#include "authsvc/server/signal_waiter.h"

#include <fmt/format.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "authsvc/core/error.h"

namespace authsvc {

// A signalfd reads the blocked signals without a handler; an eventfd tells
// the waiting thread to end when no signal comes.
struct SignalWaiter::State {
  sigset_t signals{};
  sigset_t previous_mask{};
  int signal_fd = -1;
  int stop_fd = -1;
};

namespace {

[[noreturn]] void fail(const char* what) {
  throw Error(fmt::format("cannot set up signal handling: {}: {}", what, std::strerror(errno)));
}

}  // namespace

SignalWaiter::SignalWaiter() : state_(std::make_unique<State>()) {
  sigemptyset(&state_->signals);
  sigaddset(&state_->signals, SIGINT);
  sigaddset(&state_->signals, SIGTERM);
  sigaddset(&state_->signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &state_->signals, &state_->previous_mask);
  state_->signal_fd = signalfd(-1, &state_->signals, SFD_CLOEXEC | SFD_NONBLOCK);
  state_->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (state_->signal_fd < 0 || state_->stop_fd < 0) {
    int saved = errno;
    if (state_->signal_fd >= 0) close(state_->signal_fd);
    if (state_->stop_fd >= 0) close(state_->stop_fd);
    pthread_sigmask(SIG_SETMASK, &state_->previous_mask, nullptr);
    errno = saved;
    fail(state_->signal_fd < 0 ? "signalfd" : "eventfd");
  }
}

SignalWaiter::~SignalWaiter() {
  stop();
  // What came after the waiting ended is discarded, so that unblocking does
  // not let a late SIGTERM kill a process that is already finishing.
  signalfd_siginfo info{};
  while (read(state_->signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
  }
  close(state_->signal_fd);
  close(state_->stop_fd);
  pthread_sigmask(SIG_SETMASK, &state_->previous_mask, nullptr);
}

void SignalWaiter::start(std::function<void()> on_stop, std::function<void()> on_reopen) {
  thread_ = std::thread(
      [state = state_.get(), on_stop = std::move(on_stop), on_reopen = std::move(on_reopen)] {
        pollfd fds[2] = {{state->signal_fd, POLLIN, 0}, {state->stop_fd, POLLIN, 0}};
        while (true) {
          if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR) continue;
            return;
          }
          if (fds[1].revents != 0) return;
          signalfd_siginfo info{};
          while (read(state->signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
            if (info.ssi_signo == SIGHUP) {
              on_reopen();
            } else {
              on_stop();
            }
          }
        }
      });
}

void SignalWaiter::stop() {
  if (!thread_.joinable()) return;
  std::uint64_t one = 1;
  while (write(state_->stop_fd, &one, sizeof one) < 0 && errno == EINTR) {
  }
  thread_.join();
}

}  // namespace authsvc
