#include "support/fake_transport.h"

namespace flowline::testing {

HttpResponse json_response(int status, std::string body, HttpHeaders extra) {
  HttpResponse response;
  response.status = status;
  response.headers.emplace_back("content-type", "application/json");
  for (auto& header : extra) response.headers.push_back(std::move(header));
  response.body = std::move(body);
  return response;
}

void FakeHttp::push(HttpResponse response) {
  std::lock_guard lock(mutex_);
  queue_.push_back(std::move(response));
}

void FakeHttp::push_json(int status, std::string body, HttpHeaders extra) {
  push(json_response(status, std::move(body), std::move(extra)));
}

void FakeHttp::set_handler(Handler handler) {
  std::lock_guard lock(mutex_);
  handler_ = std::move(handler);
}

void FakeHttp::set_delay(std::chrono::milliseconds delay) {
  std::lock_guard lock(mutex_);
  delay_ = delay;
}

std::chrono::milliseconds FakeHttp::delay() const {
  std::lock_guard lock(mutex_);
  return delay_;
}

std::vector<RecordedRequest> FakeHttp::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

size_t FakeHttp::request_count() const {
  std::lock_guard lock(mutex_);
  return requests_.size();
}

HttpResponse FakeHttp::reply(const HttpRequest& request) {
  Handler handler;
  {
    std::lock_guard lock(mutex_);
    requests_.push_back({request, std::chrono::steady_clock::now()});
    if (!queue_.empty()) {
      HttpResponse response = std::move(queue_.front());
      queue_.pop_front();
      return response;
    }
    handler = handler_;
  }
  if (handler) return handler(request);
  HttpResponse response;
  response.status = 599;
  response.body = "FakeHttp: nothing scripted for " + request.method + " " + request.url;
  return response;
}

void FakeTransport::send(HttpRequest request, std::function<void(HttpResponse)> done) {
  HttpResponse response = http_->reply(request);
  auto delay = http_->delay();
  auto complete = [done = std::move(done), response = std::move(response)]() mutable {
    done(std::move(response));
  };
  if (delay.count() > 0)
    loop_.call_after(delay, std::move(complete));
  else
    loop_.post(std::move(complete));
}

}  // namespace flowline::testing
