package ioasid.shell.impl;

import java.util.Map;
import java.util.function.Function;

import org.apache.felix.service.command.Converter;
import org.osgi.service.component.annotations.Component;

import ioasid.shell.impl.Args.Count;
import ioasid.shell.impl.Args.IoasidList;
import ioasid.shell.impl.Args.IoasidNumber;
import ioasid.shell.impl.Args.Iova;
import ioasid.shell.impl.Args.Length;
import ioasid.shell.impl.Args.Millis;
import ioasid.shell.impl.Args.ObjectId;
import ioasid.shell.impl.Args.Paddr;
import ioasid.shell.impl.Args.Pasid;
import ioasid.shell.impl.Args.Quota;
import ioasid.shell.impl.Args.SetNumber;
import ioasid.shell.impl.Args.Spid;

/**
 * Gogo's conversions for the commands: what was typed (or captured) into the argument types, a
 * captured {@link Reply} into its value, and a reply into its text for printing.
 */
@Component(service = Converter.class, property = Converter.CONVERTER_CLASSES + "="
        + "ioasid.shell.impl.Reply")
public final class ShellConverter implements Converter {
    private static final Map<Class<?>, Function<Object, Object>> ARGS = Map.ofEntries(
            Map.entry(SetNumber.class, SetNumber::new),
            Map.entry(IoasidNumber.class, IoasidNumber::new),
            Map.entry(IoasidList.class, IoasidList::new), Map.entry(Count.class, Count::new),
            Map.entry(Quota.class, Quota::new), Map.entry(Spid.class, Spid::new),
            Map.entry(Pasid.class, Pasid::new), Map.entry(Iova.class, Iova::new),
            Map.entry(Millis.class, Millis::new), Map.entry(ObjectId.class, ObjectId::new),
            Map.entry(Length.class, Length::new), Map.entry(Paddr.class, Paddr::new));

    @Override
    public Object convert(Class<?> desiredType, Object in) {
        Function<Object, Object> arg = ARGS.get(desiredType);
        if (arg != null) {
            return in instanceof CharSequence || in instanceof Number || in instanceof Reply
                    ? arg.apply(in) : null;
        }
        if (!(in instanceof Reply) || ((Reply) in).value() == null) {
            return null;
        }
        Object value = ((Reply) in).value();
        if (desiredType == String.class || desiredType == CharSequence.class) {
            return String.valueOf(value);
        }
        if (value instanceof Number) {
            Number n = (Number) value;
            if (desiredType == int.class || desiredType == Integer.class) {
                return n.intValue();
            }
            if (desiredType == long.class || desiredType == Long.class) {
                return n.longValue();
            }
        }
        return desiredType.isInstance(value) ? value : null;
    }

    @Override
    public CharSequence format(Object target, int level, Converter escape) {
        if (!(target instanceof Reply)) {
            return null;
        }
        Reply r = (Reply) target;
        return level == INSPECT ? r.text() : r.toString();
    }
}
