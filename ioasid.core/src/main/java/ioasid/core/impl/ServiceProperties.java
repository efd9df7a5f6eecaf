package ioasid.core.impl;

import static ioasid.api.Errno.EINVAL;

import java.util.Map;

import org.osgi.framework.Constants;

import ioasid.api.IoasidException;

/** Reads the properties every whiteboard service of the core is bound with. */
final class ServiceProperties {
    private ServiceProperties() {
    }

    static long serviceId(Map<String, ?> props) {
        Object v = props.get(Constants.SERVICE_ID);
        if (v instanceof Long l) {
            return l;
        }
        throw new IoasidException(EINVAL, "service without " + Constants.SERVICE_ID);
    }

    static int ranking(Map<String, ?> props) {
        // the OSGi rule: a ranking that is not an Integer counts as 0
        return props.get(Constants.SERVICE_RANKING) instanceof Integer i ? i : 0;
    }

    /** The name property, or else the service's class name. */
    static String name(Map<String, ?> props, String key, Object service) {
        Object v = props.get(key);
        return v != null ? v.toString() : service.getClass().getName();
    }
}
