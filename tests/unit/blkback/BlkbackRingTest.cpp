// The backend's ring against a frontend driven by Xen's own ring macros on a
// page in memory: requests served in order with their ids, the notify rule,
// a ring of mixed good and bad requests served to the end, and a frontend
// whose producer index runs past the ring refused without reading past it.
#include <atomic>

#define xen_mb() std::atomic_thread_fence(std::memory_order_seq_cst)
#define xen_rmb() std::atomic_thread_fence(std::memory_order_acquire)
#define xen_wmb() std::atomic_thread_fence(std::memory_order_release)

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>

#include "BlkbackFakes.h"
#include "smartvm/dom0/blkback/BlkbackRing.h"

namespace smartvm::dom0::blkback {
namespace {

struct Page {
  Page() : p(static_cast<blkif_sring*>(std::aligned_alloc(4096, 4096))) {}
  ~Page() { std::free(p); }
  blkif_sring* p;
};

class BlkbackRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SHARED_RING_INIT(page.p);
    FRONT_RING_INIT(&front, page.p, 4096);
    fill(grants.grant(1));
  }
  static void fill(test::FakeGrants::Page& p) {
    for (size_t i = 0; i < p.bytes.size(); ++i) p.bytes[i] = static_cast<uint8_t>(i);
  }
  void queue(uint8_t op, uint64_t id, uint64_t sector, uint8_t last = 7) {
    blkif_request* r = RING_GET_REQUEST(&front, front.req_prod_pvt);
    *r = {};
    r->operation = op;
    r->id = id;
    r->sector_number = sector;
    r->nr_segments = 1;
    r->seg[0] = {1, 0, last};
    front.req_prod_pvt++;
  }
  Page page;
  blkif_front_ring_t front{};
  test::MemDisk disk{64 * 512};
  test::FakeGrants grants;
  BlkbackEngine engine{disk, grants};
};

TEST_F(BlkbackRingTest, ServesInOrderAndEchoesIds) {
  BlkbackRing ring(page.p, 4096);
  EXPECT_EQ(ring.size(), 32u) << "a one-page blkif ring holds 32 requests";
  for (uint64_t i = 0; i < 5; ++i) queue(BLKIF_OP_WRITE, 100 + i, i * 8);
  int notify = 0;
  RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
  EXPECT_TRUE(notify) << "req_event starts at 1: the backend wants the first kick";
  const auto round = ring.serve(engine);
  EXPECT_EQ(round.served, 5u);
  EXPECT_TRUE(round.notify);
  ASSERT_EQ(page.p->rsp_prod, 5u);
  for (RING_IDX i = 0; i < 5; ++i) {
    const blkif_response* r = RING_GET_RESPONSE(&front, i);
    EXPECT_EQ(r->id, 100 + i);
    EXPECT_EQ(r->status, BLKIF_RSP_OKAY);
  }
  EXPECT_EQ(page.p->req_event, 6u) << "asks to be kicked for the next request";
  EXPECT_EQ(ring.serve(engine).served, 0u) << "nothing new";
}

TEST_F(BlkbackRingTest, BadRequestsAmongGoodOnesEachGetTheirAnswer) {
  BlkbackRing ring(page.p, 4096);
  queue(BLKIF_OP_WRITE, 1, 0);
  queue(BLKIF_OP_WRITE, 2, 60);      // runs past the 64-sector disk
  queue(99, 3, 0);                   // unknown
  queue(BLKIF_OP_READ, 4, 0, 8);     // last_sect 8
  queue(BLKIF_OP_READ, 5, 0);
  RING_PUSH_REQUESTS(&front);
  EXPECT_EQ(ring.serve(engine).served, 5u);
  const int16_t want[] = {BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY};
  for (RING_IDX i = 0; i < 5; ++i) EXPECT_EQ(RING_GET_RESPONSE(&front, i)->status, want[i]) << "id " << i + 1;
  EXPECT_FALSE(ring.broken());
}

TEST_F(BlkbackRingTest, BudgetLeavesTheRestForTheNextRound) {
  BlkbackRing ring(page.p, 4096);
  for (uint64_t i = 0; i < 10; ++i) queue(BLKIF_OP_READ, i, 0);
  RING_PUSH_REQUESTS(&front);
  EXPECT_EQ(ring.serve(engine, 4).served, 4u);
  EXPECT_EQ(page.p->rsp_prod, 4u);
  EXPECT_EQ(ring.serve(engine).served, 6u);
  EXPECT_EQ(page.p->rsp_prod, 10u);
}

TEST_F(BlkbackRingTest, ProducerIndexPastTheRingStopsServingIt) {
  BlkbackRing ring(page.p, 4096);
  queue(BLKIF_OP_WRITE, 1, 0);
  page.p->req_prod = 1000;  // claims 1000 requests on a 32-entry ring
  const auto round = ring.serve(engine);
  EXPECT_EQ(round.served, 0u);
  EXPECT_TRUE(ring.broken());
  EXPECT_EQ(page.p->rsp_prod, 0u) << "nothing answered from a ring it cannot trust";
  EXPECT_EQ(disk.log, "");
  page.p->req_prod = 1;
  EXPECT_EQ(ring.serve(engine).served, 0u) << "stays refused";
}

TEST_F(BlkbackRingTest, ARingFullOfRequestsIsServedWholeAndNoMore) {
  BlkbackRing ring(page.p, 4096);
  for (uint64_t i = 0; i < 32; ++i) queue(BLKIF_OP_READ, i, 0);
  RING_PUSH_REQUESTS(&front);
  EXPECT_EQ(ring.serve(engine).served, 32u);
  // The frontend has not consumed responses; it may still queue 32 more once it does.
  front.rsp_cons = 32;
  for (uint64_t i = 0; i < 32; ++i) queue(BLKIF_OP_READ, 100 + i, 0);
  RING_PUSH_REQUESTS(&front);
  EXPECT_EQ(ring.serve(engine).served, 32u);
  EXPECT_EQ(RING_GET_RESPONSE(&front, 63)->id, 131u);
}

}  // namespace
}  // namespace smartvm::dom0::blkback
