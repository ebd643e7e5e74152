// nn/data/dataloader.cpp — the DataLoader's epoch runs: order, seeds, worker threads and the in-order queue.
//
// A run covers batches [begin, end) of one epoch. Workers claim the next unclaimed batch under the mutex, but only
// while fewer than `capacity` (num_workers * prefetch_factor) batches are claimed and not yet taken by the
// consumer; they load it unlocked and park the result (batch or exception) in `ready`, keyed by batch number. The
// consumer waits for its next batch number to appear, so batches come out in order whichever worker finishes first.
// Claims go in order and the batch the consumer waits for is always claimable, so the consumer cannot wait forever.
#include "nn/data/dataloader.h"

#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <optional>
#include <thread>

#ifdef _OPENMP
#include <omp.h>
#endif
#include <sys/resource.h>
#include <unistd.h>

#include "autograd/grad_mode.h"
#include "core/trace/trace.h"
#include "ops/factory.h"

namespace nabla::data {
namespace {

uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

constexpr uint64_t kShuffleTag = 0x73687566666c65ull;  // "shuffle": keeps the order's stream apart from examples'

}  // namespace

uint64_t example_seed(uint64_t seed, int64_t epoch, int64_t index) {
    return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(epoch)) ^ static_cast<uint64_t>(index));
}

struct EpochRun {
    struct Slot {
        std::optional<Batch> batch;
        std::exception_ptr error;
    };

    std::shared_ptr<const Dataset> dataset;
    Collate collate;
    DataLoaderOptions options;
    int64_t epoch;
    std::vector<int64_t> order;
    int64_t end;  // one past the last batch

    std::mutex mutex;
    std::condition_variable work_cv, ready_cv;
    int64_t next_claim, next_take;
    std::map<int64_t, Slot> ready;
    bool stop = false;
    std::vector<std::thread> workers;
    Batch current;

    EpochRun(const DataLoader& loader, const Collate& collate_, int64_t epoch_, int64_t begin)
        : dataset(loader.dataset()),
          collate(collate_),
          options(loader.options()),
          epoch(epoch_),
          order(loader.order(epoch_)),
          end(loader.size()),
          next_claim(begin),
          next_take(begin) {}

    ~EpochRun() { shutdown(); }

    void shutdown() {
        {
            std::lock_guard<std::mutex> lock(mutex);
            stop = true;
        }
        work_cv.notify_all();
        for (std::thread& t : workers)
            if (t.joinable()) t.join();
        workers.clear();
    }

    void start_workers() {
        try {
            for (int64_t w = 0; w < options.num_workers; ++w) workers.emplace_back([this, w] { worker_loop(w); });
        } catch (...) {
            shutdown();
            throw;
        }
    }

    // Loads and collates batch b; exceptions name the batch and the dataset index. With skip_errors a failing example
    // is left out and noted in Batch::skipped.
    Batch load_batch(int64_t b, int64_t worker) const {
        trace::Scope trace_scope(trace::data, "load_batch");
        NoGradGuard no_grad;
        const int64_t bs = options.batch_size, n = static_cast<int64_t>(order.size());
        const int64_t first = b * bs, last = std::min(n, first + bs);
        const std::string where = worker < 0 ? detail::concat("batch ", b, " of epoch ", epoch)
                                             : detail::concat("batch ", b, " of epoch ", epoch, ", worker ", worker);
        Batch batch;
        batch.index = b;
        batch.epoch = epoch;
        std::vector<Example> examples;
        examples.reserve(static_cast<size_t>(last - first));
        for (int64_t k = first; k < last; ++k) {
            const int64_t i = order[static_cast<size_t>(k)];
            try {
                Generator gen(example_seed(options.seed, epoch, i));
                examples.push_back(dataset->get(i, gen));
                batch.indices.push_back(i);
            } catch (const std::exception& e) {
                if (!options.skip_errors)
                    throw Error(detail::concat("DataLoader: dataset index ", i, " (", where, "): ", e.what()));
                batch.skipped.push_back({i, e.what()});
            }
        }
        if (examples.empty() && !batch.skipped.empty())
            throw Error(detail::concat("DataLoader: no example of ", where, " could be loaded; dataset index ",
                                       batch.skipped[0].index, ": ", batch.skipped[0].error));
        try {
            batch.tensors = collate(examples);
            if (options.pin_memory && pinned_allocator())
                for (Tensor& t : batch.tensors) t = t.pin_memory();
        } catch (const std::exception& e) {
            throw Error(
                detail::concat("DataLoader: collate of ", where, " (dataset indices ", batch.indices, "): ", e.what()));
        }
        return batch;
    }

    void worker_loop(int64_t w) {
#ifdef _OPENMP
        omp_set_num_threads(1);  // the workers are the parallelism; nested OpenMP teams would oversubscribe
#endif
        // Below the training threads (Linux: a thread's own nice value). A worker that preempts a thread of the
        // OpenMP team stalls every barrier of the step while the others spin: PFLD's training step at batch 32 took
        // 5.5 s instead of 1.3 s with 2 workers on 2 cores. At nice 10 the workers mostly use the time the team
        // leaves idle. A failure (no permission) changes nothing but speed.
        setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
        trace::set_thread_name(detail::concat("dataloader worker ", w));  // the thread's name in traces
        const int64_t capacity = options.num_workers * options.prefetch_factor;
        for (;;) {
            int64_t b;
            {
                std::unique_lock<std::mutex> lock(mutex);
                work_cv.wait(lock, [&] { return stop || next_claim >= end || next_claim < next_take + capacity; });
                if (stop || next_claim >= end) return;
                b = next_claim++;
            }
            Slot slot;
            try {
                slot.batch = load_batch(b, w);
            } catch (...) {
                slot.error = std::current_exception();
            }
            {
                std::lock_guard<std::mutex> lock(mutex);
                ready.emplace(b, std::move(slot));
            }
            ready_cv.notify_one();
        }
    }

    // Moves the next batch into `current`; false when the epoch is over. Re-throws a loading error.
    bool advance() {
        trace::Scope trace_scope(trace::data, "dataloader.next");
        if (next_take >= end) return false;
        Slot slot;
        if (workers.empty()) {
            try {
                slot.batch = load_batch(next_take, -1);
            } catch (...) {
                slot.error = std::current_exception();
            }
            ++next_take;
        } else {
            std::unique_lock<std::mutex> lock(mutex);
            ready_cv.wait(lock, [&] { return ready.count(next_take) > 0; });
            auto it = ready.find(next_take);
            slot = std::move(it->second);
            ready.erase(it);
            ++next_take;
            lock.unlock();
            work_cv.notify_all();
        }
        if (slot.error) std::rethrow_exception(slot.error);
        current = std::move(*slot.batch);
        return true;
    }
};

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options, Collate collate)
    : dataset_(std::move(dataset)), options_(options), collate_(std::move(collate)) {
    NB_CHECK_VALUE(dataset_ != nullptr, "DataLoader: the dataset is null");
    NB_CHECK_VALUE(static_cast<bool>(collate_), "DataLoader: the collate function is empty");
    NB_CHECK_VALUE(options_.batch_size >= 1, "DataLoader: batch_size must be at least 1, got ", options_.batch_size);
    NB_CHECK_VALUE(options_.num_workers >= 0, "DataLoader: num_workers must be non-negative, got ",
                   options_.num_workers);
    NB_CHECK_VALUE(options_.prefetch_factor >= 1, "DataLoader: prefetch_factor must be at least 1, got ",
                   options_.prefetch_factor);
    NB_CHECK_VALUE(dataset_->size() >= 0, "DataLoader: the dataset has a negative size ", dataset_->size());
    NB_CHECK_VALUE(options_.num_replicas >= 1 && options_.rank >= 0 && options_.rank < options_.num_replicas,
                   "DataLoader: rank ", options_.rank, " is not one of num_replicas=", options_.num_replicas);
}

int64_t DataLoader::num_examples() const {
    const int64_t n = dataset_->size(), r = options_.num_replicas;
    return r == 1 ? n : (n + r - 1) / r;
}

int64_t DataLoader::size() const {
    const int64_t n = num_examples(), bs = options_.batch_size;
    return options_.drop_last ? n / bs : (n + bs - 1) / bs;
}

void DataLoader::set_epoch(int64_t epoch, int64_t start_batch) {
    NB_CHECK_VALUE(epoch >= 0, "DataLoader::set_epoch: epoch must be non-negative, got ", epoch);
    NB_CHECK_VALUE(start_batch >= 0 && start_batch <= size(), "DataLoader::set_epoch: start_batch ", start_batch,
                   " is out of range for ", size(), " batches per epoch");
    epoch_ = epoch;
    start_batch_ = start_batch;
}

std::vector<int64_t> DataLoader::order(int64_t epoch) const {
    const int64_t n = dataset_->size();
    std::vector<int64_t> order(static_cast<size_t>(n));
    if (!options_.shuffle) {
        std::iota(order.begin(), order.end(), 0);
    } else {
        Generator gen(splitmix64(splitmix64(options_.seed ^ kShuffleTag) ^ static_cast<uint64_t>(epoch)));
        Tensor perm = randperm(n, &gen);
        std::copy(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n, order.begin());
    }
    const int64_t replicas = options_.num_replicas;
    if (replicas == 1 || n == 0) return order;
    // DistributedSampler: pad to a multiple of the replicas by repeating the start, then every replicas-th entry.
    std::vector<int64_t> shard;
    for (int64_t k = options_.rank; k < num_examples() * replicas; k += replicas) shard.push_back(order[k % n]);
    return shard;
}

DataLoader::Iterator DataLoader::begin() {
    auto run = std::make_shared<EpochRun>(*this, collate_, epoch_, start_batch_);
    ++epoch_;
    start_batch_ = 0;
    run->start_workers();
    Iterator it(run);
    if (!run->advance()) return Iterator();
    return it;
}

Batch& DataLoader::Iterator::operator*() const {
    if (!run_) throw Error("DataLoader::Iterator: dereferencing the end of an epoch");
    return run_->current;
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    if (!run_) throw Error("DataLoader::Iterator: incrementing past the end of an epoch");
    std::shared_ptr<EpochRun> run = run_;
    try {
        if (!run->advance()) run_.reset();
    } catch (...) {
        run_.reset();  // the epoch is over for this iterator; the run stops when its last copy goes
        throw;
    }
    return *this;
}

}  // namespace nabla::data
