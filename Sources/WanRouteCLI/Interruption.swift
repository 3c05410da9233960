import Foundation
import WanRoute

/// The tasks a run has at the providers right now, told by the executor's events: a job is
/// `submitting` from its `submitIntent` until the answer (accepted, a retry, or the attempt's end),
/// and holds its task from `accepted` until the attempt or the job ends.
///
/// Installed after the ledger's recorder among the observers, so every task listed here is already
/// durable in the ledger when it is listed.
final class InFlightTasks: ExecutionObserver, @unchecked Sendable {  // state behind `lock`
    /// A task a provider accepted and wanroute has not seen end.
    struct Entry: Equatable {
        var jobID: String
        var provider: ProviderID
        var taskID: String
    }

    private let lock = NSLock()
    private var submitting: [String: ProviderID] = [:]
    private var accepted: [String: Entry] = [:]
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func record(_ event: ExecutionEvent) async throws {
        let wake: [CheckedContinuation<Void, Never>] = lock.withLock {
            switch event {
            case .submitIntent(let job, let offer, _):
                submitting[job] = offer.offer.provider
            case .accepted(let job, let provider, let task):
                submitting[job] = nil
                accepted[job] = Entry(jobID: job, provider: provider, taskID: task)
            case .retrying(let job, _, _, _):
                submitting[job] = nil
            case .attemptEnded(let job, _):
                submitting[job] = nil
                accepted[job] = nil
            case .finished(let report):
                submitting[report.id] = nil
                accepted[report.id] = nil
            default:
                break
            }
            guard submitting.isEmpty else { return [] }
            defer { waiters = [] }
            return waiters
        }
        for w in wake { w.resume() }
    }

    /// The accepted tasks, by job id.
    var tasks: [Entry] { lock.withLock { accepted.values.sorted { $0.jobID < $1.jobID } } }

    /// Jobs whose submission has left without an answer yet, with the provider asked.
    var submissions: [(jobID: String, provider: ProviderID)] {
        lock.withLock { submitting.map { ($0.key, $0.value) }.sorted { $0.jobID < $1.jobID } }
    }

    /// Returns once no submission is waiting for its answer (submissions must be stopped first, or
    /// new ones may keep it waiting).
    func submissionsAnswered() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let done = lock.withLock { () -> Bool in
                if submitting.isEmpty { return true }
                waiters.append(c)
                return false
            }
            if done { c.resume() }
        }
    }
}

/// Ctrl-C and SIGTERM during `run`: the first stops new submissions, waits for the submissions
/// already sent to be answered (so their task ids reach the ledger instead of becoming unknown
/// outcomes), lists every task in flight on stderr and exits 130, telling the user to run
/// `wanroute resume`; a second signal exits 130 at once.
///
/// Signals are taken with dispatch sources on a serial queue after their default action is
/// ignored, so the handlers run as ordinary code, never in a signal context.
final class RunInterruption: @unchecked Sendable {  // state confined to `queue`
    static let signals: [Int32] = [SIGINT, SIGTERM]
    private let queue = DispatchQueue(label: "wanroute.run.signals")
    private var sources: [DispatchSourceSignal] = []
    private var received = 0

    /// Starts listening; call ``cancel()`` when the run ends, which gives the signals their
    /// default action back.
    static func install(command: String, executor: Executor, inFlight: InFlightTasks, stderr: TextOutput) -> RunInterruption {
        let interruption = RunInterruption()
        for sig in signals { signal(sig, SIG_IGN) }
        interruption.sources = signals.map { sig in
            let source = DispatchSource.makeSignalSource(signal: sig, queue: interruption.queue)
            source.setEventHandler { [unowned interruption] in
                interruption.received += 1
                interruption.handle(sig, count: interruption.received, command: command, executor: executor, inFlight: inFlight, stderr: stderr)
            }
            source.resume()
            return source
        }
        return interruption
    }

    /// Stops listening and restores the signals' default actions.
    func cancel() {
        queue.sync {
            for source in sources { source.cancel() }
            sources = []
        }
        for sig in Self.signals { signal(sig, SIG_DFL) }
    }

    private func handle(_ sig: Int32, count: Int, command: String, executor: Executor, inFlight: InFlightTasks, stderr: TextOutput) {
        let name = sig == SIGINT ? "Ctrl-C" : "SIGTERM"
        guard count == 1 else {
            let waiting = inFlight.submissions
            var text = "wanroute \(command): \(name) again: exiting now\n"
            for s in waiting { text += "  job \(s.jobID): a submission to \(s.provider) got no answer yet; a task may exist\n" }
            text += Self.listing(inFlight.tasks) + "run 'wanroute resume' to follow every open job to its end\n"
            stderr.write(text)
            _exit(ExitCode.interrupted.rawValue)
        }
        executor.stopSubmitting("interrupted (\(name))")
        let waiting = inFlight.submissions.count
        stderr.write("wanroute \(command): \(name): no new submissions"
                     + (waiting > 0 ? "; waiting for \(waiting) submission\(waiting == 1 ? "" : "s") already sent to be answered (\(name) again quits now)" : "")
                     + "\n")
        Task {
            await inFlight.submissionsAnswered()
            // The listing and the exit happen on the signal queue, so a second signal meanwhile
            // cannot interleave its own.
            self.queue.async {
                stderr.write(Self.listing(inFlight.tasks) + "run 'wanroute resume' to follow \(inFlight.tasks.isEmpty ? "every open job" : "them") to their end\n")
                exit(ExitCode.interrupted.rawValue)
            }
        }
    }

    /// One line per task in flight, or a line saying there is none.
    static func listing(_ tasks: [InFlightTasks.Entry]) -> String {
        if tasks.isEmpty { return "no task is in flight\n" }
        var text = "\(tasks.count) task\(tasks.count == 1 ? "" : "s") in flight:\n"
        for t in tasks { text += "  job \(t.jobID): \(t.provider) task \(t.taskID)\n" }
        return text
    }
}
