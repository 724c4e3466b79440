// SPDX-License-Identifier: MIT
// http_floor URL N CONCURRENCY: the transport-only reference for bench_eval.sh. Sends N OpenAI chat
// requests (POST URL/chat/completions, a distinct small body each) through one libcurl multi handle
// with at most CONCURRENCY in flight, starting the next request as soon as one finishes, and does
// nothing with the answers. Its wall time is what the machine, the loopback server and libcurl
// allow for the shape, with no engine work at all. Prints on stdout:
//   http_floor: requests=N ok=K wall_s=S mean_latency_ms=L
// Exits 1 when a request fails.
#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

struct Slot {
  CURL* easy = nullptr;
  std::string body;
  curl_slist* headers = nullptr;
};

std::size_t discard(char*, std::size_t size, std::size_t count, void*) { return size * count; }

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: http_floor URL N CONCURRENCY\n");
    return 129;
  }
  const std::string url = std::string(argv[1]) + "/chat/completions";
  const long total = std::atol(argv[2]);
  const long concurrency = std::atol(argv[3]);
  if (total < 1 || concurrency < 1) {
    std::fprintf(stderr, "http_floor: N and CONCURRENCY must be at least 1\n");
    return 129;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  CURLM* multi = curl_multi_init();
  curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, concurrency);
  curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, concurrency);
  std::vector<Slot> slots(static_cast<std::size_t>(concurrency));
  long started = 0;
  long finished = 0;
  long ok = 0;
  double latency_sum = 0.0;
  const auto start_one = [&](Slot& slot) {
    ++started;
    slot.body =
        "{\"model\": \"bench-model\", \"messages\": [{\"role\": \"system\", \"content\": \"Repeat the "
        "question. "
        "Revision 0.\"}, {\"role\": \"user\", \"content\": \"case " +
        std::to_string(started) + ": beta\"}]}";
    if (slot.easy == nullptr) {
      slot.easy = curl_easy_init();
      slot.headers = curl_slist_append(nullptr, "Content-Type: application/json");
      slot.headers = curl_slist_append(slot.headers, "Expect:");
      curl_easy_setopt(slot.easy, CURLOPT_URL, url.c_str());
      curl_easy_setopt(slot.easy, CURLOPT_HTTPHEADER, slot.headers);
      curl_easy_setopt(slot.easy, CURLOPT_WRITEFUNCTION, &discard);
      curl_easy_setopt(slot.easy, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(slot.easy, CURLOPT_PRIVATE, static_cast<void*>(&slot));
    }
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(slot.body.size()));
    curl_easy_setopt(slot.easy, CURLOPT_POSTFIELDS, slot.body.data());
    curl_multi_add_handle(multi, slot.easy);
  };
  const auto begin = std::chrono::steady_clock::now();
  for (Slot& slot : slots) {
    if (started < total) {
      start_one(slot);
    }
  }
  while (finished < total) {
    int running = 0;
    curl_multi_perform(multi, &running);
    int left = 0;
    while (CURLMsg* message = curl_multi_info_read(multi, &left)) {
      if (message->msg != CURLMSG_DONE) {
        continue;
      }
      CURL* easy = message->easy_handle;
      long status = 0;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
      if (message->data.result == CURLE_OK && status == 200) {
        ++ok;
        curl_off_t total_us = 0;
        curl_off_t pretransfer_us = 0;
        curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
        curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
        latency_sum += static_cast<double>(total_us - pretransfer_us) / 1000.0;
      }
      ++finished;
      Slot* slot = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&slot));
      curl_multi_remove_handle(multi, easy);
      if (started < total) {
        start_one(*slot);
      }
    }
    if (finished < total) {
      curl_multi_poll(multi, nullptr, 0, 100, nullptr);
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  std::printf("http_floor: requests=%ld ok=%ld wall_s=%.3f mean_latency_ms=%.2f\n", total, ok, wall,
              ok > 0 ? latency_sum / static_cast<double>(ok) : 0.0);
  for (Slot& slot : slots) {
    if (slot.easy != nullptr) {
      curl_easy_cleanup(slot.easy);
    }
    curl_slist_free_all(slot.headers);
  }
  curl_multi_cleanup(multi);
  curl_global_cleanup();
  return ok == total ? 0 : 1;
}
