package ioasid.api.iommu.spi;

import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;

/**
 * One IOMMU hardware instance, registered as a whiteboard service by a backend bundle (decision
 * D16: several are live at once, each serving its own devices).
 *
 * <h2>Life cycle</h2>
 * When the service appears, the IOMMU core probes its {@link #devices()}: it forms groups, gives
 * each group its default domain (rule 41) and attaches it. When the service properties change,
 * the core probes the device list again: new devices join, missing ones are released. When the
 * service goes away (its bundle stops), every group it served is blocked, every PASID detached
 * with UNBIND, every domain and vIOMMU of it dropped (decision D17); the core makes no further
 * call into it. When a backend for the same devices returns, the groups are probed again.
 *
 * <h2>Calls and the IOMMU core's lock</h2>
 * The IOMMU core keeps its groups, domains and PASID tables under one lock for all backends, and
 * <em>holds it while it calls a backend</em> for configuration: a domain switch, a PASID
 * attachment or a vIOMMU changes the core's tables and the hardware together, and undoes the
 * hardware part when a later step fails (rule 44, D18). This is the opposite of the IOASID core,
 * which never calls plugin code (allocators, listeners) under its lock. So:
 * <ul>
 * <li><b>Configuration calls</b> ({@link #devices}, {@link #domainAlloc}, {@link #svaDomainAlloc},
 * {@link #attachDev}, {@link #replaceDev}, {@link #detachDev}, {@link #setDevPasid},
 * {@link #replaceDevPasid}, {@link #removeDevPasid},
 * {@link #viommuAlloc}, {@link BackendDomain#free}, {@link BackendViommu},
 * {@link BackendVdevice}) are made with the core's lock held, one at a time across all backends,
 * with arguments already checked. They may block, but while they do every configuration call of
 * the core waits, on every backend, and so does the core's IOASID FREE listener for attached
 * PASIDs, which the IOASID core skips from then on if it stalls past its listener stall timeout.
 * <li><b>Data-path calls</b> ({@link #translate}, {@link #commandLog} and the page-table calls of
 * {@link BackendDomain}) are made without the core's lock, from any thread, concurrently with
 * each other and with configuration calls, under a read lock of this backend that is write-held
 * while one of its domains is freed or it leaves. They may block briefly (an IOTLB sync waits
 * for its invalidation), but a domain free or this backend's departure waits for them, holding
 * the core's lock.
 * <li><b>No call back.</b> None of these methods may call {@link ioasid.api.iommu.IommuService}.
 * The core's lock is reentrant: from a configuration call on the same thread, a call back is not
 * refused but runs in the middle of the operation that called the backend (a group half switched,
 * an attachment half made) and may corrupt it; from a data-path call, a configuration call takes
 * the core's lock while holding the read lock, the reverse of a domain free or a departure, and
 * can deadlock. Handing the call to another thread and waiting for it deadlocks as soon as that
 * call needs a lock the waiting one holds.
 * </ul>
 * {@link #caps} alone is called with no lock held, once, when the service is bound.
 * A failure is reported by throwing {@link ioasid.api.IoasidException} with the kernel's errno.
 */
@ConsumerType
public interface IommuBackend {

    /** Service property (String): the instance name, unique on the platform, e.g. "smmu0". */
    String NAME = "ioasid.iommu.name";

    /** Service property (String): the vendor, "smmuv3", "vtd" or "virtio". */
    String VENDOR = "ioasid.iommu.vendor";

    /**
     * Why this instance does not serve, or null when it does. An instance whose configuration
     * is refused (a value outside its Metatype range, a device listed twice, parameters the
     * hardware cannot have) is still registered, so that operators see it and the reason; the
     * core lists it as FAILED and calls nothing else on it. When its configuration is mended
     * the service properties change and the core probes it as if it had just arrived.
     *
     * <p>Read when the service is bound and each time its properties change, before the core
     * takes its lock; it should still answer at once (a field read), without calling back.
     */
    default String failure() {
        return null;
    }

    /**
     * The last configuration change this instance refused, or null. A running instance keeps
     * its previous configuration when a change is refused; this says why, until a change is
     * accepted. Read each time the core probes this instance's devices (when it is bound and
     * when its properties change), under the core's lock: it must not block or call back.
     */
    default String refusedChange() {
        return null;
    }

    /**
     * What this instance can do. Read once when the service is bound and kept while it stays
     * bound; a change of service properties does not read it again. A throw is logged and the
     * service ignored.
     *
     * <p>Called with no lock held; may block, delaying only this binding; a call back into
     * {@link ioasid.api.iommu.IommuService} is safe but finds this backend not bound yet.
     */
    IommuCaps caps();

    /**
     * The endpoints behind this instance; names must be unique on the platform. Read when the
     * service is bound and each time its properties change. A throw is logged and counts as an
     * empty list: every device of this backend leaves its group.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     */
    List<DeviceInfo> devices();

    /**
     * Allocates a domain: a group's default domain (at probe, or when its type is changed), its
     * blocking domain (BLOCKED, then an empty UNMANAGED one if BLOCKED is refused), a caller's
     * domain or a private PASID's. Returning null counts as a failure with EIO.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     *
     * @param nestingParent whether the paging domain may carry vIOMMUs
     * @throws ioasid.api.IoasidException EOPNOTSUPP for a type (or nesting) the hardware cannot do
     */
    BackendDomain domainAlloc(DomainType type, boolean nestingParent);

    /**
     * Allocates an SVA domain sharing a process's page table, at an SVA bind that cannot reuse one
     * of the process's domains. Returning null counts as a failure with EIO.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     *
     * @throws ioasid.api.IoasidException EOPNOTSUPP without SVA support
     */
    BackendDomain svaDomainAlloc(ProcessAddressSpace mm);

    /**
     * Points the device's DMA without PASID at the domain (stream table entry, context entry,
     * ATTACH request) when no domain of the core is installed for it: at probe, when a device
     * joins a group, and after a switch to no domain ({@link #detachDev}). Every other switch
     * comes as {@link #replaceDev}. Attaching to a domain the device was attached to before must
     * not fail: the core relies on it to undo a failed switch (rule 44). A device that joins a
     * group at probe is attached alone, a failure only logged.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     */
    void attachDev(String device, BackendDomain domain);

    /**
     * Moves the device's DMA without PASID from {@code old}, the domain installed for it now, to
     * {@code domain}: the kernel's {@code attach_dev} called with the group's current domain
     * still installed. The core calls it for every switch of a device that has a domain: a
     * caller's attach or replace, a detach back to the default or blocking domain, a DMA claim or
     * release, a default-type change. A switch calls it for each device of the group in turn and,
     * when one throws, calls it again for the devices already moved, with the two domains
     * swapped, to put them back; that call must not fail (rule 44).
     *
     * <p>A backend programs it the way its driver does: an SMMUv3 rewrites the stream table entry
     * in place in the order that keeps it valid, a virtio-iommu sends one ATTACH (the device
     * leaves the old domain by itself). When it throws, the device must still be on {@code old}.
     * The default is {@link #attachDev}, whose contract already covers a device with a domain.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     *
     * @param old never null, never {@code domain}
     * @since 1.1
     */
    default void replaceDev(String device, BackendDomain old, BackendDomain domain) {
        attachDev(device, domain);
    }

    /**
     * Detaches the device from any domain, for backends without default domains (rule 44's NULL
     * domain).
     *
     * <p>Called for each device of a group that goes back to no domain, and to undo an attach
     * from none. A throw stops that switch where it is: devices already detached stay detached.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     *
     * @throws ioasid.api.IoasidException EOPNOTSUPP when the hardware has no such state
     */
    void detachDev(String device);

    /**
     * Points the device's DMA with {@code pasid} at the domain (CD, PASID entry). Called for each
     * device of the group in turn; when one throws, {@link #removeDevPasid} undoes the devices
     * already done, last first (rule 38).
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     */
    void setDevPasid(String device, int pasid, BackendDomain domain);

    /**
     * Moves the device's {@code pasid} from {@code old}, the domain its entry points at now, to
     * {@code domain} in one step: the kernel's {@code set_dev_pasid} called with the old domain,
     * as {@code iommu_replace_device_pasid} does. Called for each device of the group in turn;
     * when one throws, the core calls it again for the devices already switched with the two
     * domains swapped, and {@link #removeDevPasid} for a device where that fails too.
     *
     * <p>A backend programs it the way its driver does: VT-d writes the new PASID entry over the
     * present one and then invalidates the PASID cache, the IOTLB and the device TLB for the old
     * domain ID, so the entry is never cleared on the way. When it throws, the entry must still
     * point at {@code old}.
     *
     * <p>The default is {@link #removeDevPasid} then {@link #setDevPasid}, and {@code setDevPasid}
     * with {@code old} again when that fails: a window in which the PASID's DMA is dropped, which
     * rule 44 allows but a backend that can do better overrides.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     *
     * @param old never null, never {@code domain}
     * @since 1.1
     */
    default void replaceDevPasid(String device, int pasid, BackendDomain old,
            BackendDomain domain) {
        removeDevPasid(device, pasid, old);
        try {
            setDevPasid(device, pasid, domain);
        } catch (RuntimeException e) {
            try {
                setDevPasid(device, pasid, old);
            } catch (RuntimeException again) {
                e.addSuppressed(again);
            }
            throw e;
        }
    }

    /**
     * Clears the device's PASID entry and invalidates what the hardware cached of it: at a PASID
     * detach, at the undo of a failed attach and when a device leaves. A throw is logged; the core
     * forgets the attachment all the same.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     */
    void removeDevPasid(String device, int pasid, BackendDomain domain);

    /**
     * Answers what the hardware does with one DMA right now, by walking its own tables and
     * caches (stream table, context descriptors, PASID tables, page tables, IOTLB). Never called
     * once this backend has left; the PASID is within 20 bits.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     *
     * @param pasid {@link ioasid.api.Ioasid#NO_PASID} for DMA without a PASID
     */
    Walk translate(String device, int pasid, long iova, Access access);

    /**
     * Builds the driver's part of a vIOMMU on a nesting-parent domain. Returning null counts as a
     * failure with EIO.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     *
     * @throws ioasid.api.IoasidException EOPNOTSUPP when the hardware has no vIOMMU support
     */
    BackendViommu viommuAlloc(BackendDomain nestingParent);

    /**
     * The command or invalidation queue as issued, oldest first, for operators and tests. Never
     * called once this backend has left.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     */
    List<String> commandLog();
}
