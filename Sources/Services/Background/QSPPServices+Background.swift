import Foundation
public import Identity
public import Logging
public import Mail
public import Outbox
import Privacy
import Synchronization

extension QSPPServices {
    /// Once a minute, reloads the key ring, so a key rotated by `qspp keys rotate` (or on another replica)
    /// signs here too, and counts overdue data-subject requests for `/metrics`; every ten minutes, purges
    /// expired identity rows and abandoned export archives. Every minute it also adds new ledger entries
    /// to the Merkle tree, so a rewrite of an entry after that shows at its stored leaf, and every
    /// checkpoint interval it signs a checkpoint. Either refuses when the chain does not continue.
    public func housekeeping(logger: Logger) -> BackgroundLoop {
        let minutes = Atomic<Int>(0)
        return BackgroundLoop(
            name: "housekeeping", initialDelay: .seconds(60), retryDelay: .seconds(60), logger: logger
        ) {
            let minute = minutes.add(1, ordering: .relaxed).newValue
            try await identity.tokens.reloadKeys()
            metrics.overdueRequests(try await privacy.overdueCount())
            metrics.overdueRequestTasks(try await fanOut.overdueCount())
            do {
                if minute % settings.receipts.checkpointInterval == 0 {
                    try await ledger.checkpoint()
                } else {
                    try await ledger.integrate()
                }
                // Witnesses that were unreachable when the checkpoint was signed are asked again.
                let cosigners = try await ledger.cosign()
                if cosigners.count < ledger.policy.quorum {
                    logger.warning(
                        "the latest checkpoint lacks its witnesses' quorum",
                        metadata: ["cosigned": "\(cosigners.count)", "quorum": "\(ledger.policy.quorum)"])
                }
            } catch let refusal as LedgerIntegrityError {
                metrics.ledgerIntegrityFailure()
                logger.error(
                    "ledger integrity check failed; nothing was signed",
                    metadata: ["entry": "\(refusal.problem.sequence)", "reason": "\(refusal.problem.reason)"])
            }
            if minute % 10 == 0 {
                let purged = try await identity.purgeExpired()
                logger.debug("purged expired identity rows", metadata: ["rows": "\(purged)"])
                let mails = try await store.mailOutbox.purge(before: Date().addingTimeInterval(-Self.sentMailKept))
                logger.debug("purged sent mail records", metadata: ["rows": "\(mails)"])
                let deliveries = try await store.webhooks.purgeWebhookDeliveries(
                    deliveredBefore: Date().addingTimeInterval(-Self.sentMailKept))
                logger.debug("purged delivered webhooks", metadata: ["rows": "\(deliveries)"])
                ExportArchive.removeLeftovers()
            }
            return .seconds(60)
        }
    }

    /// How long the record of a sent or dropped message (its id, template, times; never its recipient),
    /// and of a delivered webhook, stays for admins.
    static let sentMailKept: TimeInterval = 30 * 24 * 3600

    /// Purges each class of personal data past its retention period a minute after start, then hourly.
    /// Replicas may all run it: a purge is idempotent.
    public func retentionJob(logger: Logger) -> BackgroundLoop {
        let retention = self.retention(logger: logger)
        return BackgroundLoop(
            name: "retention run", initialDelay: .seconds(60), retryDelay: .seconds(3600), logger: logger
        ) {
            try await retention.purgeOnce()
            return .seconds(3600)
        }
    }

    /// Runs queued valuation jobs one at a time. Every replica runs one; a job is claimed under a lease
    /// so only one replica runs it, and a replica that dies leaves it to be claimed again once the lease
    /// ends. On graceful shutdown the running job goes back to the queue.
    public func valuationRunner(logger: Logger) -> BackgroundLoop {
        BackgroundLoop(name: "valuation runner", initialDelay: .zero, retryDelay: .seconds(5), logger: logger) {
            try await valuation.runNextJob() ? .zero : .seconds(2)
        }
    }

    public func retention(logger: Logger) -> Retention {
        Retention(repository: store.retention, days: settings.retention.days, logger: logger)
    }
}

extension QSPPServices {
    /// Sends queued mail as soon as it is due: again at once while there is more, else a quarter of a
    /// second later (a look at an index when nothing is due).
    /// Every replica runs one; the outbox's leases keep them from sending a message twice.
    public func mailSender(logger: Logger, transport: any MailTransport) -> BackgroundLoop {
        let sender = MailOutboxSender(
            outbox: store.mailOutbox, transport: transport, from: settings.mail.sender,
            policy: settings.mail.retry, leaseDuration: settings.mail.leaseDuration, logger: logger)
        return BackgroundLoop(name: "mail sender", initialDelay: .zero, retryDelay: .seconds(5), logger: logger) {
            try await sender.sendDue() > 0 ? .zero : .milliseconds(250)
        }
    }

    /// Tells relying parties whose sessions ended, as soon as a notice is due; every replica of the auth
    /// role runs one, and the leases keep them from sending a notice twice at once.
    public func backChannelLogoutSender(logger: Logger, transport: any LogoutTokenTransport) -> BackgroundLoop {
        let sender = BackChannelLogoutSender(
            notices: store.identity, identity: identity, transport: transport, logger: logger)
        return BackgroundLoop(
            name: "back-channel logout sender", initialDelay: .zero, retryDelay: .seconds(5), logger: logger
        ) {
            try await sender.sendDue() > 0 ? .zero : .milliseconds(250)
        }
    }
}

extension QSPPServices {
    /// Turns new ledger entries into webhook deliveries: at once while there is more, else a quarter of
    /// a second later. Every replica of the consent role runs one; the cursor lets one win each batch.
    public func webhookDispatcher(logger: Logger) -> BackgroundLoop {
        let dispatcher = WebhookDispatcher(
            webhooks: store.webhooks, ledger: store.ledger,
            source: WebhookEventSource(requests: store.privacy, tasks: store.requestTasks, issuer: settings.issuer),
            ring: identity.tokens.keyRing, issuer: settings.issuer, now: { Date() })
        return BackgroundLoop(
            name: "webhook dispatcher", initialDelay: .zero, retryDelay: .seconds(5), logger: logger
        ) {
            try await dispatcher.dispatchDue() == WebhookDispatcher.batchSize ? .zero : .milliseconds(250)
        }
    }

    /// Opens the downstream tasks of newly verified requests, and completes requests whose last task a
    /// stopped replica settled; every replica of the consent role runs one.
    public func requestFanOut(logger: Logger) -> BackgroundLoop {
        BackgroundLoop(name: "request fan-out", initialDelay: .zero, retryDelay: .seconds(5), logger: logger) {
            try await fanOut.runDue(logger: logger) > 0 ? .zero : .seconds(1)
        }
    }

    /// Posts due webhook deliveries; every replica of the consent role runs one, and the leases keep
    /// them from sending one delivery twice at once, or one subject's events out of order.
    public func webhookSender(logger: Logger, transport: any WebhookTransport) -> BackgroundLoop {
        let sender = WebhookSender(
            webhooks: store.webhooks, transport: transport,
            secrets: WebhookSecrets(webhooks: store.webhooks, masterKey: settings.masterKey), identity: identity,
            policy: settings.webhooks.retry, metrics: metrics, logger: logger, now: { Date() })
        return BackgroundLoop(name: "webhook sender", initialDelay: .zero, retryDelay: .seconds(5), logger: logger) {
            try await sender.sendDue() > 0 ? .zero : .milliseconds(250)
        }
    }
}
