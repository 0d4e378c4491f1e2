<?php

/**
 * Command-line driver for the Paymenter bridge's signing code (Signer.php),
 * without Laravel: send a test webhook from the panel host, or mint a link.
 *
 *   php bin/upsell-sign.php webhook <url> <invoice_id>
 *       Sends the signed "invoice paid" webhook; prints the HTTP status.
 *   php bin/upsell-sign.php webhook-tampered <url> <invoice_id>
 *       The same, but one byte of the body is changed after signing (the
 *       daemon must answer 401). For tests.
 *   php bin/upsell-sign.php link <user_id> <service_id> <ttl_seconds>
 *       Prints a link token valid for ttl_seconds from now (a negative ttl:
 *       one that expired -ttl seconds ago).
 *   php bin/upsell-sign.php url <public_url> <user_id> <service_id> <ttl_seconds>
 *       Prints the client's "Upgrade resources" URL.
 *
 * Secrets come from the environment: UPSELL_WEBHOOK_SECRET and
 * UPSELL_LINK_SECRET. Exit status: 0 on success (a 2xx answer for the
 * webhook modes), 3 when the daemon answered another status, 1 when it did
 * not answer, 2 on a usage error.
 */

declare(strict_types=1);

use Paymenter\Extensions\Others\Upsell\Signer;

if (PHP_SAPI !== 'cli') {
    http_response_code(404);
    exit;
}

require __DIR__ . '/../Signer.php';

function upsell_cli_usage(string $why): never
{
    fwrite(STDERR, $why . "\nusage: upsell-sign.php webhook|webhook-tampered <url> <invoice_id>\n"
        . "       upsell-sign.php link <user_id> <service_id> <ttl_seconds>\n"
        . "       upsell-sign.php url <public_url> <user_id> <service_id> <ttl_seconds>\n");
    exit(2);
}

function upsell_cli_int(string $what, string $arg, bool $signed = false): int
{
    $n = filter_var($arg, FILTER_VALIDATE_INT);
    if ($n === false || (!$signed && $n <= 0)) {
        upsell_cli_usage("bad $what: $arg");
    }

    return $n;
}

function upsell_cli_env(string $name): string
{
    $v = getenv($name);
    if ($v === false || $v === '') {
        upsell_cli_usage("$name is not set");
    }

    return $v;
}

/** Changes one byte of body: the last digit (the invoice id's). */
function upsell_cli_tamper(string $body): string
{
    for ($i = strlen($body) - 1; $i >= 0; $i--) {
        if (ctype_digit($body[$i])) {
            $body[$i] = (string) (((int) $body[$i] + 1) % 10);

            return $body;
        }
    }

    return $body . ' ';
}

$args = array_slice($argv, 1);
$mode = $args[0] ?? '';

try {
    switch ($mode) {
        case 'webhook':
        case 'webhook-tampered':
            if (count($args) !== 3) {
                upsell_cli_usage("$mode takes <url> <invoice_id>");
            }
            $secret = upsell_cli_env('UPSELL_WEBHOOK_SECRET');
            $invoiceId = upsell_cli_int('invoice id', $args[2]);
            if ($mode === 'webhook') {
                $status = Signer::sendInvoicePaid($args[1], $secret, $invoiceId);
            } else {
                $body = Signer::invoicePaidBody($invoiceId);
                $headers = Signer::webhookHeaders($secret, $body);
                $status = Signer::post($args[1], upsell_cli_tamper($body), $headers);
            }
            echo $status, "\n";
            exit($status >= 200 && $status < 300 ? 0 : 3);

        case 'link':
        case 'url':
            $want = $mode === 'link' ? 4 : 5;
            if (count($args) !== $want) {
                upsell_cli_usage($mode === 'link' ? 'link takes <user_id> <service_id> <ttl_seconds>' : 'url takes <public_url> <user_id> <service_id> <ttl_seconds>');
            }
            $rest = $mode === 'link' ? array_slice($args, 1) : array_slice($args, 2);
            // A negative ttl mints a link that expired -ttl seconds ago,
            // issued a minute before that (for tests).
            $ttl = upsell_cli_int('ttl', $rest[2], true);
            $expires = time() + $ttl;
            $token = Signer::linkToken(
                upsell_cli_env('UPSELL_LINK_SECRET'),
                upsell_cli_int('user id', $rest[0]),
                upsell_cli_int('service id', $rest[1]),
                $ttl > 0 ? time() : $expires - 60,
                $expires
            );
            echo $mode === 'link' ? $token : Signer::clientUrl($args[1], $token), "\n";
            exit(0);

        default:
            upsell_cli_usage($mode === '' ? 'no mode given' : "unknown mode: $mode");
    }
} catch (InvalidArgumentException $e) {
    upsell_cli_usage($e->getMessage());
} catch (Throwable $e) {
    fwrite(STDERR, $e->getMessage() . "\n");
    exit(1);
}
