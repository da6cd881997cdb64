// MessageSocket: frames over a socketpair, and file descriptors passed with
// SCM_RIGHTS, including what a hostile peer might send.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>

#include <cstring>
#include <vector>

#include "smartvm/MessageSocket.h"
#include "smartvm/control/v1/control.pb.h"

namespace smartvm {
namespace {

namespace pb = smartvm::control::v1;

/// Open descriptors of this process, to catch leaks.
size_t openFds() {
  size_t n = 0;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return 0;
  while (::readdir(d) != nullptr) ++n;
  ::closedir(d);
  return n;
}

struct Pair {
  Pair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    a = MessageSocket(sv[0]);
    b = MessageSocket(sv[1]);
  }
  MessageSocket a, b;
};

pb::Response answer(uint64_t id, uint32_t fdCount = 0) {
  pb::Response r;
  r.set_id(id);
  r.set_fd_count(fdCount);
  return r;
}

UniqueFd makeEventFd() { return UniqueFd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)); }

uint64_t readCounter(int fd) {
  uint64_t v = 0;
  return ::read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

TEST(MessageSocket, FramesRoundTripWithoutFds) {
  Pair p;
  ASSERT_TRUE(p.a.send(answer(7)).isOk());
  pb::Response got;
  std::vector<UniqueFd> fds;
  ASSERT_TRUE(p.b.recv(got, fds).isOk());
  EXPECT_EQ(got.id(), 7u);
  EXPECT_TRUE(fds.empty());
}

TEST(MessageSocket, FdsArriveInOrderAndWork) {
  Pair p;
  UniqueFd e1 = makeEventFd(), e2 = makeEventFd();
  const int sent[] = {e1.get(), e2.get()};
  ASSERT_TRUE(p.a.send(answer(1, 2), sent).isOk());
  pb::Response got;
  std::vector<UniqueFd> fds;
  ASSERT_TRUE(p.b.recv(got, fds).isOk());
  EXPECT_EQ(got.fd_count(), 2u);
  ASSERT_EQ(fds.size(), 2u);
  // Each received fd is the same eventfd as the one sent in its position.
  const uint64_t one = 1, three = 3;
  ASSERT_EQ(::write(fds[0].get(), &one, sizeof(one)), 8);
  ASSERT_EQ(::write(fds[1].get(), &three, sizeof(three)), 8);
  EXPECT_EQ(readCounter(e1.get()), 1u);
  EXPECT_EQ(readCounter(e2.get()), 3u);
  EXPECT_TRUE((::fcntl(fds[0].get(), F_GETFD) & FD_CLOEXEC) != 0) << "received fds are close-on-exec";
}

TEST(MessageSocket, FdsStayWithTheirFrame) {
  Pair p;
  UniqueFd e = makeEventFd();
  const int sent[] = {e.get()};
  ASSERT_TRUE(p.a.send(answer(1)).isOk());
  ASSERT_TRUE(p.a.send(answer(2, 1), sent).isOk());
  ASSERT_TRUE(p.a.send(answer(3)).isOk());
  for (uint64_t id = 1; id <= 3; ++id) {
    pb::Response got;
    std::vector<UniqueFd> fds;
    ASSERT_TRUE(p.b.recv(got, fds).isOk());
    EXPECT_EQ(got.id(), id);
    EXPECT_EQ(fds.size(), id == 2 ? 1u : 0u) << "frame " << id;
  }
}

TEST(MessageSocket, UnwantedFdsAreClosed) {
  Pair p;
  const size_t before = openFds();
  {
    UniqueFd e = makeEventFd();
    const int sent[] = {e.get(), e.get(), e.get()};
    ASSERT_TRUE(p.a.send(answer(1, 3), sent).isOk());
  }
  pb::Response got;
  ASSERT_TRUE(p.b.recv(got).isOk()) << "the plain recv takes the frame and drops its fds";
  EXPECT_EQ(got.id(), 1u);
  EXPECT_EQ(openFds(), before);
}

TEST(MessageSocket, TooManyFdsAreRefusedBothWays) {
  Pair p;
  UniqueFd e = makeEventFd();
  std::vector<int> many(MessageSocket::kMaxFds + 1, e.get());
  EXPECT_EQ(p.a.send(answer(1), many).code(), EINVAL);

  // A hostile peer bypassing MessageSocket: 20 fds on one frame.
  const size_t before = openFds();
  pb::Response r = answer(9);
  std::string body = r.SerializeAsString();
  const uint32_t len = static_cast<uint32_t>(body.size());
  std::string frame(reinterpret_cast<const char*>(&len), 4);
  frame += body;
  constexpr size_t kSent = 20;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kSent)] = {};
  iovec iov{frame.data(), frame.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int) * kSent);
  std::vector<int> fdsOut(kSent, e.get());
  std::memcpy(CMSG_DATA(c), fdsOut.data(), sizeof(int) * kSent);
  ASSERT_EQ(::sendmsg(p.a.fd(), &msg, 0), static_cast<ssize_t>(frame.size()));
  pb::Response got;
  std::vector<UniqueFd> fds;
  const Status s = p.b.recv(got, fds);
  EXPECT_EQ(s.code(), EPROTO) << s.toString();
  EXPECT_TRUE(fds.empty());
  EXPECT_EQ(openFds(), before) << "nothing of the oversized batch is kept";
}

TEST(MessageSocket, BadFdIsEbadfForTheSender) {
  Pair p;
  const int bogus[] = {987654};
  const Status s = p.a.send(answer(1), bogus);
  EXPECT_EQ(s.code(), EBADF) << s.toString();
}

TEST(MessageSocket, PeerCloseIsEnotconn) {
  Pair p;
  p.a.close();
  pb::Response got;
  std::vector<UniqueFd> fds;
  EXPECT_EQ(p.b.recv(got, fds).code(), ENOTCONN);
}

}  // namespace
}  // namespace smartvm
