/// One attempt at one offer: submit (retrying only what proves no task was created), then poll.
extension Executor {
    /// How an attempt ended: the job is done (any status), or it failed with a class the
    /// policy's failover plan decides on.
    enum AttemptResult {
        case done(JobReport)
        case failed(FailureClass)
    }

    /// What a submission came to: a task id, or the attempt's end.
    enum SubmitResult {
        case accepted(String)
        case ended(AttemptResult)
    }

    /// Submits `candidate` and follows the task to its end. Runs holding the provider's slot.
    func attempt(_ order: JobOrder, _ candidate: RankedOffer, started: inout Seconds?, into attempt: inout Attempt) async -> AttemptResult {
        let offer = candidate.offer
        let adapter = adapters[offer.provider]!
        let key = apiKeys[offer.provider]!
        if started == nil { started = time.now() }
        let deadline = started!.saturatingAdd(options.deadline)
        switch await submit(order, candidate, adapter: adapter, key: key, into: &attempt) {
        case .ended(let result):
            return result
        case .accepted(let taskID):
            attempt.taskID = taskID
            guard await record(.accepted(jobID: order.id, provider: offer.provider, taskID: taskID)) else {
                return .done(stoppedPolling(order, candidate, &attempt))
            }
            return await follow(order, candidate, taskID: taskID, adapter: adapter, key: key, deadline: deadline,
                                firstWait: adapter.pollSchedule.firstPoll, into: &attempt)
        }
    }

    /// Sends the submission, retrying rate limits and transient faults with back-off; each
    /// submission is recorded as an intent before it leaves.
    func submit(_ order: JobOrder, _ candidate: RankedOffer, adapter: any ProviderAdapter, key: String, into attempt: inout Attempt) async -> SubmitResult {
        let offer = candidate.offer
        let request = GenerationRequest(behavior: offer.behavior, mode: offer.mode, resolution: offer.resolution,
                                        imageURL: order.imageURL, videoURL: order.videoURL)
        for retry in 0..<max(1, options.submitAttempts) {
            guard stopReason == nil, await record(.submitIntent(jobID: order.id, offer: candidate, submission: attempt.submissions + 1)) else {
                attempt.outcome = .stopped
                attempt.detail = "not submitted to \(offer.provider): \(stopReason ?? "stopped")"
                return .ended(.done(report(order, candidate, .stopped, attempt, attempt.detail)))
            }
            attempt.submissions += 1
            do {
                return .accepted(try await adapter.submit(request, apiKey: key))
            } catch {
                let error = error.redacting(key)
                switch error {
                case .outcomeUnknown(let message):
                    attempt.outcome = .outcomeUnknown
                    attempt.failure = .timeout
                    attempt.detail = "the submission to \(offer.provider) got no answer (\(message)); a task may exist and bill, so it was neither re-submitted nor failed over"
                    return .ended(.done(report(order, candidate, .needsAttention, attempt, attempt.detail)))
                case .retryLater, .rateLimited:
                    if retry + 1 >= options.submitAttempts {
                        attempt.outcome = .submitFailed
                        attempt.failure = error.failureClass
                        attempt.detail = "\(offer.provider) refused \(attempt.submissions) submissions: \(error.message)"
                        await health.recordFailure(offer.provider, now: time.now())
                        return .ended(.failed(error.failureClass))
                    }
                    let wait = backoff(retry: retry, error: error)
                    _ = await record(.retrying(jobID: order.id, provider: offer.provider, after: wait, reason: error.message))
                    if (try? await time.sleep(for: wait)) == nil { return .ended(.done(cancelled(order, candidate, attempt))) }
                default:
                    attempt.outcome = .submitFailed
                    attempt.failure = error.failureClass
                    attempt.detail = "\(offer.provider) refused the job: \(error.message)"
                    // An empty or refused account refuses the jobs that follow too: count it
                    // towards the cool-down, so a batch stops knocking on it.
                    if error.failureClass.belongsToAccount { await health.recordFailure(offer.provider, now: time.now()) }
                    return .ended(.failed(error.failureClass))
                }
            }
        }
        return .ended(.failed(.providerError))  // not reached: the last retry returns above
    }

    /// Polls an accepted task on the provider's schedule until it ends or `deadline` passes.
    func follow(_ order: JobOrder, _ candidate: RankedOffer, taskID: String, adapter: any ProviderAdapter, key: String,
                deadline: Seconds, firstWait: Seconds, into attempt: inout Attempt) async -> AttemptResult {
        let offer = candidate.offer
        let schedule = adapter.pollSchedule
        var wait = firstWait
        var pollErrors = 0
        var lastState: TaskState?
        while true {
            if time.now().saturatingAdd(wait) > deadline {
                attempt.outcome = .deadline
                attempt.failure = .timeout
                attempt.detail = "the deadline of \(options.deadline) passed with task \(taskID) still running at \(offer.provider); it may still finish and bill"
                return .done(report(order, candidate, .unfinished, attempt, attempt.detail))
            }
            if (try? await time.sleep(for: wait)) == nil { return .done(cancelled(order, candidate, attempt)) }
            wait = jitter.between(schedule.minimumInterval, schedule.maximumInterval)
            let state: TaskState
            do {
                state = try await adapter.status(taskID: taskID, apiKey: key)
                pollErrors = 0
            } catch {
                let error = error.redacting(key)
                switch error {
                case .retryLater, .rateLimited, .outcomeUnknown:
                    pollErrors += 1
                    if pollErrors < options.pollErrorLimit {
                        if let after = error.retryAfter { wait = max(wait, after) }
                        continue
                    }
                    fallthrough
                default:
                    attempt.outcome = .pollFailed
                    attempt.failure = error.failureClass
                    attempt.detail = "asking \(offer.provider) about task \(taskID) failed: \(error.message); the task may still run and bill"
                    return .done(report(order, candidate, .needsAttention, attempt, attempt.detail))
                }
            }
            if state != lastState {
                lastState = state
                guard await record(.taskState(jobID: order.id, provider: offer.provider, taskID: taskID, state: state)) else {
                    return .done(stoppedPolling(order, candidate, &attempt))
                }
            }
            switch state {
            case .queued, .running:
                continue
            case .succeeded(let url, let billed):
                attempt.outcome = .succeeded
                attempt.detail = "task \(taskID) succeeded"
                (attempt.actualCost, attempt.actualCostSource) = actualCost(order, candidate, billed: billed)
                await health.recordSuccess(offer.provider)
                var r = report(order, candidate, .succeeded, attempt, "done on \(offer.provider)")
                r.resultURL = url
                r.billed = billed
                return .done(r)
            case .failed(let failure):
                attempt.outcome = .taskFailed
                switch failure {
                case .contentRefused(let code, let m): attempt.failure = .contentRefused; attempt.detail = "\(offer.provider) refused the content (\(code): \(m))"
                case .badInput(let code, let m): attempt.failure = .badInput; attempt.detail = "\(offer.provider) could not use the inputs (\(code): \(m))"
                case .providerError(let code, let m):
                    attempt.failure = .failed
                    attempt.detail = "task \(taskID) failed at \(offer.provider) (\(code): \(m))"
                    await health.recordFailure(offer.provider, now: time.now())
                }
                attempt.detail = SecretRedactor(secret: key).redact(attempt.detail)
                return .failed(attempt.failure!)
            }
        }
    }

    /// A task left at the provider because recording a step failed: the job stays open for `resume`.
    private func stoppedPolling(_ order: JobOrder, _ candidate: RankedOffer, _ attempt: inout Attempt) -> JobReport {
        attempt.outcome = .stopped
        attempt.detail = "stopped following task \(attempt.taskID ?? "?") at \(candidate.offer.provider): \(stopReason ?? "stopped"); it may still finish and bill"
        return report(order, candidate, .unfinished, attempt, attempt.detail)
    }

    /// Exponential back-off with jitter, never below a Retry-After.
    func backoff(retry: Int, error: ProviderError) -> Seconds {
        let exponential = min(options.backoffCap.micros, options.backoffBase.micros << min(retry, 20))
        // Jitter spreads retries of many jobs; it only ever adds, so a Retry-After is honoured.
        var wait = Seconds(micros: exponential + jitter.upTo(exponential / 2))
        if let after = error.retryAfter { wait = max(wait, after) }
        return wait
    }
}
