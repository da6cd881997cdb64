#include "smartvm/dom0/xenstore/XsConnection.h"

#include <utility>

namespace smartvm::dom0::xenstore {

void XsConnection::send(uint32_t type, uint32_t reqId, uint32_t txId, std::string_view payload) {
  out_ += XsMessage::encode(type, reqId, txId, payload);
  if (onOutput_) onOutput_();
}

void XsConnection::sendError(const xsd_sockmsg& req, int code) {
  const std::string name = xsErrorString(code);
  send(XS_ERROR, req.req_id, req.tx_id, std::string_view(name.c_str(), name.size() + 1));
}

std::string XsConnection::takeOutput() { return std::exchange(out_, {}); }

}  // namespace smartvm::dom0::xenstore
