package ioasid.testkit.osgi;

/**
 * One ARM SMMUv3 instance of {@code backend.smmuv3} (factory PID {@value #PID}). Each setter
 * names one attribute of the backend's Metatype definition; unset ones keep their defaults.
 */
public final class SmmuConfig extends BackendConfig {
    /** The factory PID. */
    public static final String PID = "ioasid.backend.smmuv3";

    SmmuConfig(String name, String... devices) {
        super(PID, name, devices);
    }

    /** IDR1.SSIDSIZE, bits of SubstreamID, 0 to 20 (0: no PASIDs); default 16. */
    public SmmuConfig ssidBits(int bits) {
        return set("ssid.bits", bits);
    }

    /** IDR1.SIDSIZE, bits of StreamID, 1 to 32; default 16. */
    public SmmuConfig sidBits(int bits) {
        return set("sid.bits", bits);
    }

    /** IDR0.CD2L, two-level context descriptor tables; default true. */
    public SmmuConfig cd2l(boolean on) {
        return set("cd2l", on);
    }

    /** IDR0.ASID16, 16-bit ASIDs (else 8); default true. */
    public SmmuConfig asid16(boolean on) {
        return set("asid16", on);
    }

    /** IDR0.VMID16, 16-bit VMIDs (else 8); default true. */
    public SmmuConfig vmid16(boolean on) {
        return set("vmid16", on);
    }

    /** Input address bits of the page tables, 32 to 48; default 48. */
    public SmmuConfig ias(int bits) {
        return set("ias", bits);
    }

    /** IDR5.OAS in bits: 32, 36, 40, 42, 44 or 48; default 48. */
    public SmmuConfig oas(int bits) {
        return set("oas", bits);
    }

    /** Stage 1 and stage 2: nesting parents and vIOMMUs; default true. */
    public SmmuConfig nesting(boolean on) {
        return set("nesting", on);
    }

    /** Shared virtual addressing with CPU ASIDs (BTM); default true. */
    public SmmuConfig sva(boolean on) {
        return set("sva", on);
    }

    /** Memory for stream, CD and page tables in KiB, at least 64; default 65536. */
    public SmmuConfig tableMemoryKib(long kib) {
        return set("table.memory.kib", kib);
    }

    /** How many commands the command log keeps, at least 1; default 4096. */
    public SmmuConfig commandLogSize(int entries) {
        return set("command.log.size", entries);
    }

    @Override
    public SmmuConfig devices(String... devices) {
        super.devices(devices);
        return this;
    }

    @Override
    public SmmuConfig set(String key, Object value) {
        super.set(key, value);
        return this;
    }
}
