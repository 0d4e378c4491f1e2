<?php

namespace Paymenter\Extensions\Servers\UpsellPterodactyl;

use App\Attributes\ExtensionMeta;
use App\Classes\Extension\Server;
use App\Models\Service;
use Exception;
use Illuminate\Support\Facades\Route;
use Paymenter\Extensions\Servers\Pterodactyl\Pterodactyl;
use Throwable;

/**
 * "Pterodactyl + Upsell": Paymenter's stock Pterodactyl server extension with
 * upsell's buttons on the service page.
 *
 * Paymenter has no hook on the service page: its buttons come only from the
 * product's server extension (getActions). This extension owns no server
 * logic: it holds a stock Pterodactyl built with the same settings and
 * forwards every call to it, arguments and answers unchanged, so a product
 * switched to it provisions, suspends, upgrades and terminates exactly as
 * before. getActions adds, after the stock actions, buttons to the Upsell
 * ("Others") extension's routes:
 *   "Upgrade resources"  upsell.resources  the daemon's add-on shop
 *   "Change options"     upsell.options    the daemon's change-options page,
 *                                          when enabled in this server's settings
 * A button whose route is missing (the Upsell extension disabled) is left
 * out.
 *
 * Paymenter asks method_exists() before each call (ExtensionHelper::call,
 * checkServer), so this class defines the stock extension's public methods
 * and no others that the stock lacks, except the two optional ones at the
 * end, which answer as if absent when the stock does not have them.
 */
#[ExtensionMeta(
    name: 'Pterodactyl + Upsell',
    description: 'The stock Pterodactyl extension with "Upgrade resources" and "Change options" buttons to the upsell daemon.',
    version: '1.0.0',
    author: 'upsell',
    url: 'https://github.com/upsell-io/upsell',
)]
class UpsellPterodactyl extends Server
{
    /** Setting: show the "Change options" button. */
    public const SETTING_CHANGE_OPTIONS = 'upsell_change_options';

    /** Setting: the "Upgrade resources" button's label. */
    public const SETTING_RESOURCES_LABEL = 'upsell_resources_label';

    private ?Pterodactyl $stock = null;

    /**
     * The stock extension with this server's settings (host, api_key, and
     * upsell's own, which it ignores). Paymenter builds server extensions
     * with their settings (ExtensionHelper::getExtension), so the stock one
     * never looks them up by its own class name.
     */
    private function stock(): Pterodactyl
    {
        return $this->stock ??= new Pterodactyl($this->config);
    }

    public function getConfig($values = []): array
    {
        return array_merge($this->stock()->getConfig($values), [
            [
                'name' => self::SETTING_RESOURCES_LABEL,
                'label' => 'Upsell: "Upgrade resources" button label',
                'type' => 'text',
                'description' => 'Shown on the service page; opens the upsell add-on shop. Needs the Upsell extension enabled.',
                'required' => false,
                'default' => 'Upgrade resources',
            ],
            [
                'name' => self::SETTING_CHANGE_OPTIONS,
                'label' => 'Upsell: show "Change options"',
                'type' => 'checkbox',
                'description' => 'Adds a "Change options" button that opens upsell\'s configurable-options change page.',
                'required' => false,
                'default' => false,
            ],
        ]);
    }

    public function testConfig(): bool|string
    {
        return $this->stock()->testConfig();
    }

    public function request($url, $method = 'get', $data = []): array
    {
        return $this->stock()->request($url, $method, $data);
    }

    public function getProductConfig($values = []): array
    {
        return $this->stock()->getProductConfig($values);
    }

    public function createServer(Service $service, $settings, $properties)
    {
        return $this->stock()->createServer($service, $settings, $properties);
    }

    public function suspendServer(Service $service, $settings, $properties)
    {
        return $this->stock()->suspendServer($service, $settings, $properties);
    }

    public function unsuspendServer(Service $service, $settings, $properties)
    {
        return $this->stock()->unsuspendServer($service, $settings, $properties);
    }

    public function terminateServer(Service $service, $settings, $properties)
    {
        return $this->stock()->terminateServer($service, $settings, $properties);
    }

    public function upgradeServer(Service $service, $settings, $properties)
    {
        return $this->stock()->upgradeServer($service, $settings, $properties);
    }

    /**
     * The stock actions ("Go to server"), then upsell's buttons. Paymenter
     * asks only for active services and drops every action when this
     * throws, so a failing stock lookup (the Pterodactyl panel down, the
     * server gone) is reported and upsell's buttons are still shown.
     */
    public function getActions(Service $service, $settings = [], $properties = []): array
    {
        $actions = [];
        try {
            $actions = $this->stock()->getActions($service, $settings, $properties);
        } catch (Throwable $e) {
            report($e);
        }
        if (Route::has('upsell.resources')) {
            $label = trim((string) $this->config(self::SETTING_RESOURCES_LABEL));
            $actions[] = [
                'type' => 'button',
                'label' => $label !== '' ? $label : 'Upgrade resources',
                'url' => route('upsell.resources', $service->id),
            ];
        }
        if ($this->config(self::SETTING_CHANGE_OPTIONS) && Route::has('upsell.options')) {
            $actions[] = [
                'type' => 'button',
                'label' => 'Change options',
                'url' => route('upsell.options', $service->id),
            ];
        }

        return $actions;
    }

    /**
     * Checkout fields of the stock extension, if it ever has some (it has
     * none at Paymenter ce12be75); none otherwise, as Paymenter assumes
     * when the method is missing.
     */
    public function getCheckoutConfig(...$args)
    {
        $stock = $this->stock();

        return method_exists($stock, 'getCheckoutConfig') ? $stock->getCheckoutConfig(...$args) : [];
    }

    /**
     * A tab view of the stock extension, if it ever has some; Paymenter
     * asks only for views getActions listed, and the stock lists none at
     * ce12be75.
     */
    public function getView(Service $service, $settings, $properties, $view)
    {
        $stock = $this->stock();
        if (!method_exists($stock, 'getView')) {
            throw new Exception('Server does not support the action: getView');
        }

        return $stock->getView($service, $settings, $properties, $view);
    }
}
