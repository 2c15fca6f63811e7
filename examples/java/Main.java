// Predict churn for a few customers with the Java class `staticml build --target java` wrote.
//
//   javac -cp churn.jar Main.java && java -cp churn.jar:. Main
//
// churn.jar holds one dependency-free class, staticml.models.Churn. A row is an Object[] in
// Churn.inputNames() order: a Number for a number column, a String for a string column, and
// null for a missing value. Churn.predict fills out[] and returns 0 (Churn.OK) or an error
// code that Churn.strerror explains.
import java.util.Arrays;

import staticml.models.Churn;

public class Main {
    public static void main(String[] args) {
        Object[][] customers = {
            // tenure_months, monthly_charges, support_calls, contract, payment_method, region
            {3, 80.5, 4, "month-to-month", "check", "north"},
            {48, 25.0, 0, "two-year", "bank-transfer", "south"},
            {12, 64.9, null, "one-year", "card", null},         // null: a missing value
            {30, 99.95, 1, "month-to-month", "wallet", "mars"},  // a region unseen in training
            {7, Double.POSITIVE_INFINITY, 2, "one-year", "card", "east"},  // refused: infinite
        };
        String[] classes = Churn.classNames();
        double[] out = new double[Churn.N_OUTPUTS];

        System.out.println("columns: " + Arrays.toString(Churn.inputNames()));
        for (Object[] row : customers) {
            String customer = Arrays.toString(row);
            int rc = Churn.predict(row, out);
            if (rc != Churn.OK) {
                System.out.println(customer + " -> error " + rc + ": " + Churn.strerror(rc));
                continue;
            }
            int k = (int) out[0];  // index of the predicted class; out[1 + k] is its probability
            System.out.println(customer + " -> " + classes[k] + ", probability " + out[1 + k]);
        }
    }
}
