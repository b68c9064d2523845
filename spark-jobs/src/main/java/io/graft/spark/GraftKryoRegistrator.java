package io.graft.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.nd4j.kryo.Nd4jRegistrator;

/**
 * ND4J's Kryo registrations (INDArrays, DataSets) plus Java records: Spark's Kryo 4 cannot build
 * a FieldSerializer for a record (its fields are final and its canonical constructor is not
 * used), so every record travels with Java serialization.
 */
public class GraftKryoRegistrator extends Nd4jRegistrator {
  @Override
  public void registerClasses(Kryo kryo) {
    super.registerClasses(kryo);
    kryo.addDefaultSerializer(Record.class, JavaSerializer.class);
  }
}
