import Foundation
import WanRoute

/// `wanroute resume`: finishes every job a crash or Ctrl-C left without a final event, never
/// submitting anything again.
enum ResumeCommand: Command {
    static let spec = CommandSpec(
        name: "resume",
        summary: "Finish jobs a crash left in flight, from the ledger: poll their tasks to the end, never re-submit.",
        synopsis: "wanroute resume [--dry-run] [--sandbox] [--ledger DIR|URL] [--pricing DIR]",
        options: [
            OptionSpec("dry-run", help: "Say what would be done for each unfinished job (reading DashScope's task list); change nothing."),
            OptionSpec("sandbox", help: "Resume the sandbox's ledger against the built-in simulator (tasks of an earlier sandbox process are gone: they end needing attention)."),
            OptionSpec("pricing", "DIR", help: "Price billed quantities with the pricing tables in DIR instead of the built-in copy."),
            LedgerLocation.option,
        ],
        positionals: nil,
        details: """
        For every job in any month of the ledger without a final event:
        - a task the provider accepted (accepted, queued, running, unfinished) is polled to its end on
          the provider's schedule, and its result, cost and settlement recorded;
        - a submission with no recorded answer (submitted, outcome-unknown) is an unknown outcome: a
          task may exist and bill. It is never submitted again. For DashScope, whose task list shows
          an account's tasks by creation time, resume looks there: from the submit-intent's time less
          5 minutes (clock skew) to it plus the request timeout (30 s) and 5 minutes, it takes the
          tasks of the job's model that no job in the ledger holds. Exactly one, which no other lost
          submission's window also holds: it is adopted (recorded as accepted, with a note, before
          the first poll) and polled to its end. None, or several: the job ends needs-attention,
          naming them (the list is not promised complete, so none is not proof of nothing). A
          window that is not yet past by 6 minutes, or a list that fails, is left for a later
          resume. For other providers the job ends needs-attention with everything known;
        - a job that stopped before anything was sent ends failed at no cost, its reservation released;
        - a finished job whose reservation a dead process left open is settled to its known cost.
        Each job ended prints one JSON line as `run` does. Safe to run twice, or while `run` runs:
        two resumes that adopt one task both record it, and only the first in ledger order polls; a
        task's end recorded twice (two processes polled it) counts once.
        --dry-run says what each job would get (it reads DashScope's task list, which changes nothing).

        Exit codes as `run`: 0 every resumed job succeeded (or there was nothing to do), 1 a job
        failed, needs attention or was left open.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let sandbox = args.flag("sandbox")
        let place = try LedgerLocation.place(args, context, sandbox: sandbox)
        guard let store = try LedgerLocation.open(place, context, command: "resume") else {
            context.stderr.write("wanroute resume: no ledger at \(place) yet; nothing to resume\n")
            return .ok
        }
        let catalog = try JobOptions.catalog(args, context)
        let open: [JobState]
        defer { (store as? FileLedgerStore)?.saveSummaries(keepingShortTails: true) }
        do { open = try await store.openJobs() } catch { throw LedgerLocation.failure(error) }
        let plan = ResumePlan.steps(for: open, usd: catalog.exchangeRates.usd)
        if plan.isEmpty {
            if args.flag("dry-run") { context.stdout.write("nothing to resume\n") }
            return .ok
        }
        let environment = try ProviderEnvironment.make(sandbox: sandbox, context: context)
        defer { environment.stop() }
        // A lost submission to a provider that lists its tasks (DashScope) is looked for there.
        let scale = Double((environment.time as? SystemTimeSource)?.speed ?? 1)
        let resolver = LostSubmissionResolver(store: store, adapters: environment.adapters, apiKeys: environment.apiKeys,
                                              allowances: LostSubmissionResolver.Allowances(timeScale: scale))
        let findings: [String: LostSubmissionResolver.Finding]
        do { findings = try await resolver.find(open, now: environment.time.date()) } catch { throw LedgerLocation.failure(error) }
        let steps = plan.map { step -> Step in
            guard case .unknownOutcome(let id, _) = step, let finding = findings[id] else { return .plan(step) }
            return .resolve(finding)
        }
        if args.flag("dry-run") {
            for step in steps { context.stdout.write(describe(step) + "\n") }
            return .ok
        }
        let router: Router
        do { router = try Router(policy: Policy.builtIn(named: "cheapest", catalog: catalog), catalog: catalog) } catch { throw .failure("\(error)") }
        let runID = GeneratedID.make("resume-")
        let recorder = LedgerRecorder(store: store, router: router, catalog: catalog, runID: runID, time: environment.time,
                                      policyDigest: Policy.builtInFile(named: "cheapest").map(SourceDigest.policy), pricingDigest: catalog.sourceDigest)
        let executor = Executor(catalog: catalog, adapters: environment.adapters, apiKeys: environment.apiKeys,
                                time: environment.time, seed: environment.seed, observers: [recorder])
        // Each polled task's state as the ledger says it: only a change is written.
        let progress = Dictionary(open.compactMap { s in s.taskProgress.map { (s.id, $0) } }, uniquingKeysWith: { a, _ in a })
        let stdout = context.stdout
        var reports: [JobReport] = []
        do {
            reports = try await withThrowingTaskGroup(of: JobReport?.self) { group in
                var running = 0
                var done: [JobReport] = []
                for step in steps {
                    if running == 16, let r = try await group.next() { running -= 1; if let r { done.append(r) } }
                    running += 1
                    group.addTask {
                        try await finish(step, store: store, executor: executor, recorder: recorder, resolver: resolver, runID: runID, time: environment.time,
                                         progress: progress)
                    }
                }
                for try await r in group { if let r { done.append(r) } }
                return done
            }
        } catch {
            throw LedgerLocation.failure(error)
        }
        for r in reports { stdout.write(r.jsonLine) }
        return reports.contains { [.failed, .needsAttention, .unfinished, .stopped].contains($0.status) } ? .failure : .ok
    }

    /// A step of the plan, or what the provider's task list said about a lost submission.
    enum Step {
        case plan(ResumeStep)
        case resolve(LostSubmissionResolver.Finding)
    }

    static func finish(_ step: Step, store: any LedgerStore, executor: Executor, recorder: LedgerRecorder, resolver: LostSubmissionResolver,
                       runID: String, time: any TimeSource, progress: [String: TaskProgress]) async throws -> JobReport? {
        let at = LedgerTime(time.date())
        switch step {
        case .plan(let step): return try await finish(step, store: store, executor: executor, recorder: recorder, runID: runID, at: at, progress: progress)
        case .resolve(.found(let task, let reserved, let note)):
            // Durable before the first poll; polled only by the resume whose adoption came first.
            guard try await resolver.adopt(task, note: note, runID: runID, at: at) else {
                return JobReport(id: task.order.id, status: .unfinished, provider: task.provider, taskID: task.taskID,
                                 message: "task \(task.taskID) was found in \(task.provider)'s task list, but another resume adopted it first")
            }
            // Just accepted: the task waits.
            recorder.adopt(jobID: task.order.id, reserved: reserved, progress: .queued)
            return await executor.poll(task)
        case .resolve(.needsAttention(let id, let detail)):
            _ = try await store.append([LedgerEvent(time: at, jobID: id, runID: runID, body: .needsAttention(detail: detail))])
            return JobReport(id: id, status: .needsAttention, message: detail)
        case .resolve(.later(let id, let detail)):
            return JobReport(id: id, status: .unfinished, message: "left open: \(detail)")
        }
    }

    static func finish(_ step: ResumeStep, store: any LedgerStore, executor: Executor, recorder: LedgerRecorder, runID: String,
                       at: LedgerTime, progress: [String: TaskProgress]) async throws -> JobReport? {
        switch step {
        case .poll(let task, let reserved):
            recorder.adopt(jobID: task.order.id, reserved: reserved, progress: progress[task.order.id])
            return await executor.poll(task)
        case .unknownOutcome(let id, let detail):
            _ = try await store.append([LedgerEvent(time: at, jobID: id, runID: runID, body: .needsAttention(detail: detail))])
            return JobReport(id: id, status: .needsAttention, message: detail)
        case .neverSubmitted(let id, let reserved):
            let detail = "the run stopped before anything was sent: nothing can have billed; run the job again if it is still wanted"
            _ = try await store.append([LedgerEvent(time: at, jobID: id, runID: runID, body: .failed(LedgerFailure(
                failure: .failed, cost: .zero(.usd), costSource: .noTask, final: true, detail: detail, settlement: reserved ? .zero(.usd) : nil)))])
            return JobReport(id: id, status: .failed, actualCost: .zero(.usd), actualCostSource: .noTask, message: detail)
        case .settle(let id, let cost):
            _ = try await store.append([LedgerEvent(time: at, jobID: id, runID: runID, body: .settled(cost))])
            return nil
        case .leave:
            return nil
        }
    }

    static func describe(_ step: Step) -> String {
        switch step {
        case .plan(let step): return describe(step)
        case .resolve(.found(let task, _, let note)): return "\(task.order.id): adopt task \(task.taskID) at \(task.provider) and poll it to its end: \(note)"
        case .resolve(.needsAttention(let id, let detail)): return "\(id): end needs-attention: \(detail)"
        case .resolve(.later(let id, let detail)): return "\(id): leave open: \(detail)"
        }
    }

    static func describe(_ step: ResumeStep) -> String {
        switch step {
        case .poll(let t, _): return "\(t.order.id): poll task \(t.taskID) at \(t.provider) to its end"
        case .unknownOutcome(let id, let detail): return "\(id): end needs-attention: \(detail)"
        case .neverSubmitted(let id, _): return "\(id): end failed at no cost: nothing was sent"
        case .settle(let id, let cost): return "\(id): settle its open reservation to \(cost)"
        case .leave(let id, let reason): return "\(id): leave as it is: \(reason)"
        }
    }
}
