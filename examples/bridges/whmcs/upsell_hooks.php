<?php

/**
 * upsell bridge for WHMCS. Copy this one file to <whmcs>/includes/hooks/.
 *
 * - InvoicePaid: POSTs a signed {"event":"invoice.paid","invoice_id":N} to
 *   the upsell daemon. Errors are logged to the WHMCS activity log and
 *   swallowed: the payment is never held up or failed by upsell, and the
 *   daemon's poller finds the paid invoice anyway.
 * - ClientAreaProductDetailsOutput: shows the logged-in client an
 *   "Upgrade resources" button on an active service's page, with a freshly
 *   signed link to the daemon's client page.
 *
 * The signing functions (upsell_*) use PHP core only (no curl, no WHMCS
 * class) and the hooks are only registered when add_hook exists, so
 * bin/upsell-sign.php can include this file under php-cli.
 */

declare(strict_types=1);

if (!defined('WHMCS') && PHP_SAPI !== 'cli') {
    exit('This file cannot be accessed directly');
}

/*
 * Settings. Edit the defaults here, or set environment variables of the
 * same names for the PHP process (php-fpm pool env[...]; the cron's shell),
 * or define the constants before this file is loaded.
 *
 * UPSELL_URL             the daemon's http.public_url as clients' browsers
 *                        reach it, e.g. https://billing.example.com/upsell
 * UPSELL_WEBHOOK_URL     where the WHMCS server POSTs paid invoices; empty:
 *                        UPSELL_URL . '/webhooks/whmcs'
 * UPSELL_WEBHOOK_SECRET  the daemon's security.webhook_secret; empty: no
 *                        webhook, the poller finds paid invoices on its own
 * UPSELL_LINK_SECRET     the daemon's security.link_secret; empty: no button
 * UPSELL_LINK_TTL        seconds a client link stays valid (default 3600)
 */
foreach ([
    'UPSELL_URL' => 'https://billing.example.com/upsell',
    'UPSELL_WEBHOOK_URL' => '',
    'UPSELL_WEBHOOK_SECRET' => '',
    'UPSELL_LINK_SECRET' => '',
    'UPSELL_LINK_TTL' => '3600',
] as $upsellName => $upsellDefault) {
    if (!defined($upsellName)) {
        $upsellValue = getenv($upsellName);
        define($upsellName, $upsellValue === false || $upsellValue === '' ? $upsellDefault : $upsellValue);
    }
}
unset($upsellName, $upsellDefault, $upsellValue);

/** Seconds to wait for the daemon: the payment callback waits too. */
const UPSELL_TIMEOUT = 3.0;

/** The webhook body for a paid invoice. */
function upsell_invoice_paid_body(int $invoiceId): string
{
    if ($invoiceId <= 0) {
        throw new InvalidArgumentException("upsell: invoice id must be positive, got $invoiceId");
    }

    return (string) json_encode(['event' => 'invoice.paid', 'invoice_id' => $invoiceId]);
}

/** Hex HMAC-SHA256 of "<timestamp>.<body>". */
function upsell_webhook_signature(string $secret, string $timestamp, string $body): string
{
    if ($secret === '') {
        throw new InvalidArgumentException('upsell: webhook secret is not set');
    }

    return hash_hmac('sha256', $timestamp . '.' . $body, $secret);
}

/**
 * The headers that authenticate body, as name => value.
 *
 * @return array<string, string>
 */
function upsell_webhook_headers(string $secret, string $body, ?int $now = null): array
{
    $timestamp = (string) ($now ?? time());

    return [
        'Content-Type' => 'application/json',
        'X-Upsell-Timestamp' => $timestamp,
        'X-Upsell-Signature' => upsell_webhook_signature($secret, $timestamp, $body),
    ];
}

/**
 * POSTs body with headers to an http(s) URL and returns the status of the
 * answer, whatever it is. Throws RuntimeException when there is no answer.
 *
 * @param array<string, string> $headers
 */
function upsell_http_post(string $url, string $body, array $headers, float $timeout = UPSELL_TIMEOUT): int
{
    // Only http(s): a mistyped setting must not read a local file.
    if (!preg_match('#^https?://[^\s/]+#i', $url)) {
        throw new InvalidArgumentException('upsell: webhook URL must be http(s): ' . $url);
    }
    $lines = [];
    foreach ($headers as $name => $value) {
        $lines[] = $name . ': ' . $value;
    }
    $lines[] = 'Content-Length: ' . strlen($body);
    $lines[] = 'Connection: close';
    $context = stream_context_create([
        'http' => [
            'method' => 'POST',
            'header' => implode("\r\n", $lines),
            'content' => $body,
            'timeout' => $timeout,
            'ignore_errors' => true,
            'follow_location' => 0,
            'protocol_version' => 1.1,
            'user_agent' => 'upsell-bridge/1',
        ],
    ]);
    error_clear_last();
    $http_response_header = null;
    $answer = @file_get_contents($url, false, $context);
    $status = 0;
    foreach (is_array($http_response_header) ? $http_response_header : [] as $line) {
        if (preg_match('#^HTTP/\S+\s+(\d{3})#', $line, $m)) {
            $status = (int) $m[1];
        }
    }
    if ($answer === false || $status === 0) {
        $err = error_get_last();
        throw new RuntimeException('upsell: no answer from ' . $url . ($err ? ': ' . $err['message'] : ''));
    }

    return $status;
}

/**
 * Signs and POSTs the "invoice paid" webhook; returns the HTTP status. One
 * attempt only: the daemon's poller covers a lost webhook.
 */
function upsell_send_invoice_paid(string $url, string $secret, int $invoiceId, float $timeout = UPSELL_TIMEOUT): int
{
    $body = upsell_invoice_paid_body($invoiceId);

    return upsell_http_post($url, $body, upsell_webhook_headers($secret, $body), $timeout);
}

/**
 * The link token: v2.<user_id>.<service_id>.<issued>.<expires>.<mac>, mac
 * being the unpadded base64url HMAC-SHA256 of everything before it; the
 * numbers plain decimals (the daemon accepts no other spelling), issued and
 * expires unix seconds. The daemon refuses a lifetime above its
 * security.link_ttl.
 */
function upsell_link_token(string $secret, int $userId, int $serviceId, int $issued, int $expires): string
{
    if ($secret === '') {
        throw new InvalidArgumentException('upsell: link secret is not set');
    }
    if ($userId <= 0 || $serviceId <= 0 || $issued <= 0 || $expires <= $issued) {
        throw new InvalidArgumentException("upsell: bad link user $userId, service $serviceId, issue time $issued or expiry $expires");
    }
    $payload = 'v2.' . $userId . '.' . $serviceId . '.' . $issued . '.' . $expires;
    $mac = rtrim(strtr(base64_encode(hash_hmac('sha256', $payload, $secret, true)), '+/', '-_'), '=');

    return $payload . '.' . $mac;
}

/** The client's "Upgrade resources" URL on the daemon's public URL. */
function upsell_client_url(string $publicUrl, string $token): string
{
    return rtrim($publicUrl, '/') . '/m/microupsell/packages?link=' . rawurlencode($token);
}

function upsell_webhook_url(): string
{
    $url = trim((string) UPSELL_WEBHOOK_URL);

    return $url !== '' ? $url : rtrim((string) UPSELL_URL, '/') . '/webhooks/whmcs';
}

function upsell_log(string $message): void
{
    if (function_exists('logActivity')) {
        logActivity('upsell: ' . $message);
    } else {
        error_log('upsell: ' . $message);
    }
}

if (function_exists('add_hook')) {
    add_hook('InvoicePaid', 1, function ($vars) {
        $invoiceId = (int) ($vars['invoiceid'] ?? 0);
        if ($invoiceId <= 0 || UPSELL_WEBHOOK_SECRET === '') {
            return;
        }
        try {
            $status = upsell_send_invoice_paid(upsell_webhook_url(), (string) UPSELL_WEBHOOK_SECRET, $invoiceId);
            if ($status < 200 || $status >= 300) {
                upsell_log("paid-invoice webhook for invoice $invoiceId answered $status; the daemon's poller will pick it up");
            }
        } catch (Throwable $e) {
            upsell_log("paid-invoice webhook for invoice $invoiceId failed (" . $e->getMessage() . "); the daemon's poller will pick it up");
        }
    });

    add_hook('ClientAreaProductDetailsOutput', 1, function ($vars) {
        try {
            $service = $vars['service'] ?? null;
            $clientId = (int) ($_SESSION['uid'] ?? 0);
            if (!is_object($service) || $clientId <= 0 || UPSELL_LINK_SECRET === '') {
                return '';
            }
            // Only the owner of an active service gets a link to it (the
            // daemon checks the owner again).
            if ((int) $service->userid !== $clientId || (string) $service->domainstatus !== 'Active') {
                return '';
            }
            $ttl = max(60, (int) UPSELL_LINK_TTL);
            $now = time();
            $token = upsell_link_token((string) UPSELL_LINK_SECRET, $clientId, (int) $service->id, $now, $now + $ttl);
            $href = htmlspecialchars(upsell_client_url((string) UPSELL_URL, $token), ENT_QUOTES);

            return '<div class="upsell-resources" style="margin:15px 0">'
                . '<a class="btn btn-primary" href="' . $href . '" rel="noopener">Upgrade resources</a>'
                . '</div>';
        } catch (Throwable $e) {
            upsell_log('upgrade link: ' . $e->getMessage());

            return '';
        }
    });
}
