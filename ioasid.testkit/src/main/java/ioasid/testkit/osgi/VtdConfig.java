package ioasid.testkit.osgi;

/**
 * One Intel VT-d remapping unit of {@code backend.vtd} (factory PID {@value #PID}). Each setter
 * names one attribute of the backend's Metatype definition; unset ones keep their defaults. A
 * guest's vIOMMU that allocates PASIDs from a host space has {@link #cachingMode},
 * {@link #vcmd} and scalable mode (the default) set.
 */
public final class VtdConfig extends BackendConfig {
    /** The factory PID. */
    public static final String PID = "ioasid.backend.vtd";

    VtdConfig(String name, String... devices) {
        super(PID, name, devices);
    }

    /** ECAP.PSS, PASID size: N means N+1 bits, 0 to 19; default 19. */
    public VtdConfig pss(int pss) {
        return set("pss", pss);
    }

    /** CAP.CM, caching mode: the unit is a vIOMMU in a guest; default false. */
    public VtdConfig cachingMode(boolean on) {
        return set("caching.mode", on);
    }

    /** ECAP.SMTS, scalable mode; default true. */
    public VtdConfig scalableMode(boolean on) {
        return set("scalable.mode", on);
    }

    /** ECAP.FLTS, first-level translation (SVA); default true. */
    public VtdConfig firstLevel(boolean on) {
        return set("first.level", on);
    }

    /** ECAP.SLTS, second-level translation; default true. */
    public VtdConfig secondLevel(boolean on) {
        return set("second.level", on);
    }

    /** ECAP.PT, pass-through (identity domains); default true. */
    public VtdConfig passThrough(boolean on) {
        return set("pass.through", on);
    }

    /** ECAP.NEST, nested translation (vIOMMUs); default false. */
    public VtdConfig nesting(boolean on) {
        return set("nesting", on);
    }

    /** ECAP.VCS with VCCAP.PAS, virtual commands for PASID allocation; default false. */
    public VtdConfig vcmd(boolean on) {
        return set("vcmd", on);
    }

    /** ECAP.C, coherent table walks; default true. */
    public VtdConfig coherent(boolean on) {
        return set("coherent", on);
    }

    /** Torn-down PASID entries keep FPD=1; default false. */
    public VtdConfig faultIgnore(boolean on) {
        return set("fault.ignore", on);
    }

    /** ECAP.DT, device-TLBs (ATS) to invalidate; default true. */
    public VtdConfig ats(boolean on) {
        return set("ats", on);
    }

    /** CAP.RWBF, the write buffer needs flushing; default true. */
    public VtdConfig rwbf(boolean on) {
        return set("rwbf", on);
    }

    /** CAP.ND, 2^(4 + 2*ND) domain IDs, 0 to 6; default 6. */
    public VtdConfig nd(int nd) {
        return set("nd", nd);
    }

    /** CAP.SLLPS, superpages (1: 2 MiB, 2: 1 GiB), 0 to 3; default 3. */
    public VtdConfig superpages(int sllps) {
        return set("superpages", sllps);
    }

    /** CAP.MAMV, the largest page-selective invalidation mask, 0 to 63; default 9. */
    public VtdConfig mamv(int mamv) {
        return set("mamv", mamv);
    }

    /** The VM whose host answers virtual commands; default "vm0". */
    public VtdConfig vcmdVm(String vm) {
        return set("vcmd.vm", vm);
    }

    /** Host PASIDs the VM may hold, 0 for all the host has left; default 4096. */
    public VtdConfig vcmdQuota(int quota) {
        return set("vcmd.quota", quota);
    }

    /**
     * The filter of the host IOASID service that answers virtual commands (used only with
     * caching mode, scalable mode and virtual commands); default {@code (ioasid.vcmd.host=true)}.
     */
    public VtdConfig hostTarget(String filter) {
        return set("host.target", filter);
    }

    @Override
    public VtdConfig devices(String... devices) {
        super.devices(devices);
        return this;
    }

    @Override
    public VtdConfig set(String key, Object value) {
        super.set(key, value);
        return this;
    }
}
