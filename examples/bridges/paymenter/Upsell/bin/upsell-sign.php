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
 *       one that expired -ttl seconds ago). Service id 0 mints a user link.
 *   php bin/upsell-sign.php url <public_url> <user_id> <service_id> <ttl_seconds>
 *       Prints the service's add-on packages URL (the JSON API).
 *   php bin/upsell-sign.php page <public_url> shop|change <user_id> <service_id> <ttl_seconds>
 *       Prints the URL of the service's add-on shop or change-options page
 *       (what the "Upgrade resources" and "Change options" buttons open).
 *   php bin/upsell-sign.php checkout <public_url> <next> <user_id> <ttl_seconds>
 *       Checks next as the panel's /upsell/checkout route does and prints
 *       the checkout URL with a user link; exit 4 when next is refused.
 *   php bin/upsell-sign.php admin-link <admin_id> [<ttl_seconds>]
 *       Prints an admin link token for the panel admin admin_id valid for
 *       ttl_seconds (default 120, at most 300) from now; a negative ttl
 *       mints one that expired -ttl seconds ago.
 *   php bin/upsell-sign.php admin-url <public_url> <admin_id> [<ttl_seconds>]
 *       Prints the console URL that signs that admin in (what the panel's
 *       /admin/upsell route redirects to).
 *
 * Secrets come from the environment: UPSELL_WEBHOOK_SECRET and
 * UPSELL_LINK_SECRET. Exit status: 0 on success (a 2xx answer for the
 * webhook modes), 3 when the daemon answered another status, 1 when it did
 * not answer, 2 on a usage error (an admin id of 0 or an admin link living
 * over 300 seconds included), 4 for a refused checkout path.
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
        . "       upsell-sign.php url <public_url> <user_id> <service_id> <ttl_seconds>\n"
        . "       upsell-sign.php page <public_url> shop|change <user_id> <service_id> <ttl_seconds>\n"
        . "       upsell-sign.php checkout <public_url> <next> <user_id> <ttl_seconds>\n"
        . "       upsell-sign.php admin-link <admin_id> [<ttl_seconds>]\n"
        . "       upsell-sign.php admin-url <public_url> <admin_id> [<ttl_seconds>]\n");
    exit(2);
}

/** The smallest value an argument may take. */
const UPSELL_CLI_POSITIVE = 1;
const UPSELL_CLI_ZERO = 0;
const UPSELL_CLI_SIGNED = PHP_INT_MIN;

function upsell_cli_int(string $what, string $arg, int $min = UPSELL_CLI_POSITIVE): int
{
    $n = filter_var($arg, FILTER_VALIDATE_INT);
    if ($n === false || $n < $min) {
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

/**
 * A link for the user and service (0: the user alone) valid for ttl seconds
 * from now; a negative ttl mints one that expired -ttl seconds ago, issued
 * a minute before that (for tests).
 */
function upsell_cli_token(int $userId, int $serviceId, int $ttl): string
{
    $secret = upsell_cli_env('UPSELL_LINK_SECRET');
    $expires = time() + $ttl;
    $issued = $ttl > 0 ? time() : $expires - 60;
    if ($serviceId === 0) {
        return Signer::userLinkToken($secret, $userId, $issued, $expires);
    }

    return Signer::linkToken($secret, $userId, $serviceId, $issued, $expires);
}

/**
 * An admin link for adminId valid for ttl seconds from now; a negative ttl
 * mints one that expired -ttl seconds ago, issued a minute before that (for
 * tests). Signer refuses a lifetime over Signer::MAX_ADMIN_LINK_TTL.
 */
function upsell_cli_admin_token(int $adminId, int $ttl): string
{
    if ($ttl === 0) {
        upsell_cli_usage('bad ttl: 0');
    }
    $secret = upsell_cli_env('UPSELL_LINK_SECRET');
    $expires = time() + $ttl;
    $issued = $ttl > 0 ? time() : $expires - 60;

    return Signer::adminLinkToken($secret, $adminId, $issued, $expires);
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
            $token = upsell_cli_token(
                upsell_cli_int('user id', $rest[0]),
                upsell_cli_int('service id', $rest[1], $mode === 'link' ? UPSELL_CLI_ZERO : UPSELL_CLI_POSITIVE),
                upsell_cli_int('ttl', $rest[2], UPSELL_CLI_SIGNED)
            );
            echo $mode === 'link' ? $token : Signer::clientUrl($args[1], $token), "\n";
            exit(0);

        case 'page':
            if (count($args) !== 6) {
                upsell_cli_usage('page takes <public_url> shop|change <user_id> <service_id> <ttl_seconds>');
            }
            $path = ['shop' => Signer::SHOP_PATH, 'change' => Signer::CHANGE_PATH][$args[2]] ?? null;
            if ($path === null) {
                upsell_cli_usage("unknown page: {$args[2]}");
            }
            $token = upsell_cli_token(
                upsell_cli_int('user id', $args[3]),
                upsell_cli_int('service id', $args[4]),
                upsell_cli_int('ttl', $args[5], UPSELL_CLI_SIGNED)
            );
            echo Signer::pageUrl($args[1], $path, $token), "\n";
            exit(0);

        case 'checkout':
            if (count($args) !== 5) {
                upsell_cli_usage('checkout takes <public_url> <next> <user_id> <ttl_seconds>');
            }
            try {
                Signer::checkoutNext($args[2]);
            } catch (InvalidArgumentException $e) {
                fwrite(STDERR, $e->getMessage() . "\n");
                exit(4);
            }
            $token = upsell_cli_token(upsell_cli_int('user id', $args[3]), 0, upsell_cli_int('ttl', $args[4], UPSELL_CLI_SIGNED));
            echo Signer::checkoutUrl($args[1], $args[2], $token), "\n";
            exit(0);

        case 'admin-link':
        case 'admin-url':
            $rest = array_slice($args, $mode === 'admin-link' ? 1 : 2);
            if (count($rest) < 1 || count($rest) > 2 || ($mode === 'admin-url' && count($args) < 3)) {
                upsell_cli_usage($mode === 'admin-link' ? 'admin-link takes <admin_id> [<ttl_seconds>]' : 'admin-url takes <public_url> <admin_id> [<ttl_seconds>]');
            }
            $token = upsell_cli_admin_token(
                upsell_cli_int('admin id', $rest[0]),
                upsell_cli_int('ttl', $rest[1] ?? (string) Signer::DEFAULT_ADMIN_LINK_TTL, UPSELL_CLI_SIGNED)
            );
            echo $mode === 'admin-link' ? $token : Signer::consoleUrl($args[1], $token), "\n";
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
